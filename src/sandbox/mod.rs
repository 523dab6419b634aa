//! The sandbox: a stand-in for Zoom's user endpoints. (Being written.)
