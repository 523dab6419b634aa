//! Turning the roster's bytes into UTF-8 text, or saying exactly where that fails.
//!
//! This module owns the choice of encoding and the streaming decoder. It does not split the
//! text into rows; that is `tokenize`'s job.
//!
//! The encoding is chosen in this order:
//!
//! 1. a byte order mark (UTF-8, UTF-16LE or UTF-16BE), which wins even over `--encoding`, as in
//!    every browser;
//! 2. `--encoding`, any WHATWG label `encoding_rs` knows (`windows-1252`, `latin1`, `shift_jis`);
//! 3. UTF-16 without a mark, when the first bytes alternate with NULs as only UTF-16 text does;
//! 4. otherwise UTF-8.
//!
//! Decoding never substitutes U+FFFD: a byte that is not valid in the chosen encoding is a
//! whole-roster error naming its line, found by the first pass however deep in the file it sits.

use std::io::{self, Read};

use encoding_rs::{DecoderResult, Encoding, UTF_8, UTF_16BE, UTF_16LE};

/// How the encoding was chosen, for reporting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EncodingSource {
    /// The file starts with a byte order mark.
    ByteOrderMark,
    /// `--encoding` named it.
    Option,
    /// NUL bytes in every other position showed UTF-16 without a byte order mark.
    NulPattern,
    /// Nothing said otherwise, so UTF-8.
    Default,
    /// `--encoding` named a legacy encoding, but the file's opening is valid UTF-8 with letters
    /// beyond ASCII, which a legacy encoding would turn into mojibake: read as UTF-8.
    Utf8OverOption,
}

/// Looks up an encoding by any WHATWG label, e.g. `windows-1252`, `latin1`, `utf-16le`.
#[must_use]
pub fn encoding_for_label(label: &str) -> Option<&'static Encoding> {
    Encoding::for_label(label.trim().as_bytes())
}

/// Chooses the encoding from the first bytes of the file. Returns the encoding, how it was
/// chosen and how many bytes of byte order mark to skip.
pub(crate) fn choose_encoding(
    head: &[u8],
    requested: Option<&'static Encoding>,
) -> (&'static Encoding, EncodingSource, usize) {
    if let Some((encoding, mark_length)) = Encoding::for_bom(head) {
        return (encoding, EncodingSource::ByteOrderMark, mark_length);
    }
    if let Some(encoding) = requested {
        // A nightly job keeps its --encoding when the HR system starts exporting UTF-8; reading
        // UTF-8 as windows-1252 would send every accented name mangled.
        let legacy = encoding != UTF_8 && encoding.is_single_byte();
        if legacy && is_utf8_beyond_ascii(head) {
            tracing::warn!(
                requested = encoding.name(),
                "the roster is valid UTF-8, so it is read as UTF-8 despite --encoding"
            );
            return (UTF_8, EncodingSource::Utf8OverOption, 0);
        }
        return (encoding, EncodingSource::Option, 0);
    }
    if let Some(encoding) = utf16_by_nuls(head) {
        return (encoding, EncodingSource::NulPattern, 0);
    }
    (UTF_8, EncodingSource::Default, 0)
}

/// Whether `head` is UTF-8 holding at least one character beyond ASCII. A sequence cut at the
/// end of `head` does not count against it.
fn is_utf8_beyond_ascii(head: &[u8]) -> bool {
    let valid = match std::str::from_utf8(head) {
        Ok(text) => text,
        Err(error) if error.error_len().is_none() => {
            // Cut short at the end of the head: the part before the cut is what there is.
            std::str::from_utf8(&head[..error.valid_up_to()]).unwrap_or_default()
        }
        Err(_) => return false,
    };
    !valid.is_ascii()
}

/// Recognises UTF-16 without a byte order mark: mostly-ASCII text in UTF-16 has a NUL in every
/// other byte, which UTF-8 text never has.
fn utf16_by_nuls(head: &[u8]) -> Option<&'static Encoding> {
    let pairs = head.len() / 2;
    if pairs < 2 {
        return None;
    }
    let nul_at = |offset: usize| {
        head.chunks_exact(2)
            .filter(|pair| pair[offset] == 0 && pair[1 - offset] != 0)
            .count()
    };
    // Three quarters leaves room for CJK names, whose UTF-16 units have no NUL byte.
    if nul_at(1) * 4 >= pairs * 3 {
        Some(UTF_16LE)
    } else if nul_at(0) * 4 >= pairs * 3 {
        Some(UTF_16BE)
    } else {
        None
    }
}

/// A byte sequence the decoder refused, carried inside an `io::Error` through the readers
/// stacked on [`Decoded`] and turned back into a `RosterError` by the tokenizer.
#[derive(Debug, thiserror::Error)]
#[error("line {line} is not valid {encoding}: {bytes} cannot be decoded")]
pub(crate) struct DecodeFailure {
    /// The physical line of the bad bytes.
    pub line: u64,
    /// The encoding's name.
    pub encoding: &'static str,
    /// The bad bytes in hex.
    pub bytes: String,
}

/// How many raw bytes are read from the file at a time.
const RAW_CHUNK: usize = 64 * 1024;

/// A reader that decodes the roster's bytes into UTF-8 as they are read.
///
/// It counts lines (a line feed, a carriage return and line feed, or a lone carriage return
/// each end one) only to name the line of a decoding failure. The count can run ahead by one
/// for each stray carriage return in the middle of a line, which is rare enough to accept.
pub(crate) struct Decoded<R> {
    /// The raw bytes.
    inner: R,
    /// `encoding_rs`'s streaming decoder, which keeps a character split between two chunks.
    decoder: encoding_rs::Decoder,
    /// The encoding's name, for messages.
    encoding: &'static str,
    /// Raw bytes read but not yet decoded: `raw[start..end]`.
    raw: Vec<u8>,
    start: usize,
    end: usize,
    /// Whether `inner` has reported its end.
    raw_done: bool,
    /// Decoded bytes not yet handed out: `out[out_start..out_end]`.
    out: Vec<u8>,
    out_start: usize,
    out_end: usize,
    /// Whether the decoder has been told the input ended and has flushed.
    finished: bool,
    /// The line the next decoded byte belongs to.
    line: u64,
    /// Whether the last decoded byte was a carriage return.
    after_cr: bool,
}

impl<R: Read> Decoded<R> {
    /// Decodes `inner`, which starts after any byte order mark, as `encoding`.
    pub(crate) fn new(inner: R, encoding: &'static Encoding) -> Decoded<R> {
        Decoded {
            inner,
            decoder: encoding.new_decoder_without_bom_handling(),
            encoding: encoding.name(),
            raw: vec![0; RAW_CHUNK],
            start: 0,
            end: 0,
            raw_done: false,
            // Enough for any chunk: no encoding expands a byte to more than three UTF-8 bytes.
            out: vec![0; RAW_CHUNK * 3 + 16],
            out_start: 0,
            out_end: 0,
            finished: false,
            line: 1,
            after_cr: false,
        }
    }

    /// Reads more raw bytes when all read so far are decoded.
    fn refill(&mut self) -> io::Result<()> {
        if self.start < self.end || self.raw_done {
            return Ok(());
        }
        self.start = 0;
        self.end = loop {
            match self.inner.read(&mut self.raw) {
                Ok(count) => break count,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => return Err(error),
            }
        };
        self.raw_done = self.end == 0;
        Ok(())
    }

    /// Advances the line count over freshly decoded bytes.
    fn count_lines(&mut self, from: usize, to: usize) {
        for &byte in &self.out[from..to] {
            if byte == b'\n' {
                if !self.after_cr {
                    self.line += 1;
                }
            } else if byte == b'\r' {
                self.line += 1;
            }
            self.after_cr = byte == b'\r';
        }
    }

    /// Decodes the next chunk into `out`. Returns false at the end of the input.
    fn decode_chunk(&mut self) -> io::Result<bool> {
        if self.finished {
            return Ok(false);
        }
        self.refill()?;
        let last = self.raw_done;
        let input = &self.raw[self.start..self.end];
        let (result, read, written) =
            self.decoder
                .decode_to_utf8_without_replacement(input, &mut self.out, last);
        let bad_end = self.start + read;
        self.start += read;
        self.out_start = 0;
        self.out_end = written;
        self.count_lines(0, written);
        match result {
            DecoderResult::InputEmpty => {
                self.finished = last;
                Ok(written > 0 || !last)
            }
            DecoderResult::OutputFull => Ok(true),
            DecoderResult::Malformed(bad, after) => {
                let bad_end = bad_end - usize::from(after);
                let bad_start = bad_end.saturating_sub(usize::from(bad));
                let bytes = hex_bytes(&self.raw[bad_start..bad_end]);
                self.finished = true;
                Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    DecodeFailure {
                        line: self.line,
                        encoding: self.encoding,
                        bytes,
                    },
                ))
            }
        }
    }
}

impl<R: Read> Read for Decoded<R> {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        while self.out_start == self.out_end {
            if !self.decode_chunk()? {
                return Ok(0);
            }
        }
        let count = buffer.len().min(self.out_end - self.out_start);
        buffer[..count].copy_from_slice(&self.out[self.out_start..self.out_start + count]);
        self.out_start += count;
        Ok(count)
    }
}

/// Writes bytes the way the error message shows them: `byte 0xE9` or `bytes 0xED 0xA0`.
fn hex_bytes(bytes: &[u8]) -> String {
    let hex: Vec<String> = bytes.iter().map(|byte| format!("0x{byte:02X}")).collect();
    match hex.len() {
        0 => "the end of the file".to_owned(),
        1 => format!("byte {}", hex[0]),
        _ => format!("bytes {}", hex.join(" ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(bytes: &[u8], encoding: &'static Encoding) -> io::Result<String> {
        let mut text = String::new();
        Decoded::new(bytes, encoding).read_to_string(&mut text)?;
        Ok(text)
    }

    fn failure(bytes: &[u8], encoding: &'static Encoding) -> DecodeFailure {
        let error = decode_all(bytes, encoding).unwrap_err();
        *error
            .into_inner()
            .unwrap()
            .downcast::<DecodeFailure>()
            .unwrap()
    }

    #[test]
    fn byte_order_marks_choose_the_encoding_and_beat_the_option() {
        let windows_1252 = encoding_for_label("windows-1252");
        assert_eq!(choose_encoding(b"\xEF\xBB\xBFa,b", windows_1252).0, UTF_8);
        assert_eq!(
            choose_encoding(b"\xFF\xFEa\0", None),
            (UTF_16LE, EncodingSource::ByteOrderMark, 2)
        );
        assert_eq!(choose_encoding(b"\xFE\xFF\0a", None).0, UTF_16BE);
        assert_eq!(
            choose_encoding(b"a,b", windows_1252).1,
            EncodingSource::Option
        );
        assert_eq!(choose_encoding(b"e\0m\0a\0i\0l\0", None).0, UTF_16LE);
        assert_eq!(choose_encoding(b"\0e\0m\0a\0i\0l", None).0, UTF_16BE);
        assert_eq!(
            choose_encoding(b"email,name", None),
            (UTF_8, EncodingSource::Default, 0)
        );
    }

    #[test]
    fn decodes_legacy_and_utf16_text() {
        assert_eq!(
            decode_all(b"Jos\xE9", encoding_for_label("latin1").unwrap()).unwrap(),
            "José"
        );
        assert_eq!(decode_all(b"J\0\xE9\0", UTF_16LE).unwrap(), "Jé");
    }

    #[test]
    fn a_bad_byte_deep_in_the_file_names_its_line() {
        let mut bytes = b"email\r\n".repeat(30_000);
        bytes.extend_from_slice(b"Jos\xE9@example.com\n");
        let failure = failure(&bytes, UTF_8);
        assert_eq!(failure.line, 30_001);
        assert_eq!(failure.bytes, "byte 0xE9");
    }

    #[test]
    fn lone_carriage_returns_count_as_line_ends() {
        assert_eq!(failure(b"a\rb\rc\xFF", UTF_8).line, 3);
        assert_eq!(failure(b"a\r\nb\r\n\xFF", UTF_8).line, 3);
    }

    #[test]
    fn a_character_split_across_chunks_decodes() {
        let mut bytes = vec![b'a'; RAW_CHUNK - 1];
        bytes.extend_from_slice("é".as_bytes());
        let text = decode_all(&bytes, UTF_8).unwrap();
        assert!(text.ends_with('é'));
    }
}
