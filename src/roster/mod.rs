//! Reading and checking the roster. (Being written.)
