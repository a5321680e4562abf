//! The wire between the worker and a sandbox child: length-prefixed frames over the child's
//! stdin/stdout.
//!
//! A frame is a little-endian `u32` length then that many bytes. A request is two frames (the
//! `ReadOptions` as JSON, then the document's raw bytes, so a 20 MB PDF is not inflated into a JSON
//! array); a response is one JSON frame. Before its first response the child prints `READY`, a magic
//! line the parent waits for: anything printed before it (a test harness banner, a wrong binary's
//! help text) is skipped, and a child that never prints it is reported as failing to start.

use std::io::{self, Read, Write};

use serde::{Deserialize, Serialize};

use crate::domain::Extraction;
use crate::read::ReadError;

/// Printed by the child once its limits are in place and it is ready for requests.
pub const READY: &[u8] = b"\nFACTEUR-SANDBOX-READY-1\n";

/// The largest document a child accepts (the worker's intake refuses far smaller files anyway).
pub const MAX_REQUEST_BYTES: u32 = 512 * 1024 * 1024;
/// The largest response the parent accepts: an extraction is a few kilobytes.
pub const MAX_RESPONSE_BYTES: u32 = 64 * 1024 * 1024;

#[derive(Debug, Serialize, Deserialize)]
pub struct Response {
    pub result: Result<Extraction, ReadError>,
    /// The child will exit after this response (it caught a panic): do not reuse it.
    pub retire: bool,
}

pub fn write_frame(w: &mut impl Write, payload: &[u8]) -> io::Result<()> {
    let len = u32::try_from(payload.len()).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "frame of {} bytes exceeds the 4 GiB frame limit",
                payload.len()
            ),
        )
    })?;
    w.write_all(&len.to_le_bytes())?;
    w.write_all(payload)?;
    w.flush()
}

/// Reads one frame; `Ok(None)` on a clean end of stream before the length.
pub fn read_frame(r: &mut impl Read, max: u32) -> io::Result<Option<Vec<u8>>> {
    let mut len = [0u8; 4];
    match r.read_exact(&mut len) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let len = u32::from_le_bytes(len);
    if len > max {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("frame of {len} bytes exceeds the limit of {max} bytes"),
        ));
    }
    let mut buf = vec![0u8; len as usize];
    r.read_exact(&mut buf)?;
    Ok(Some(buf))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_and_refuse_oversized_lengths() {
        let mut wire = Vec::new();
        write_frame(&mut wire, b"hello").unwrap();
        write_frame(&mut wire, b"").unwrap();
        let mut r = &wire[..];
        assert_eq!(read_frame(&mut r, 10).unwrap().unwrap(), b"hello");
        assert_eq!(read_frame(&mut r, 10).unwrap().unwrap(), b"");
        assert!(read_frame(&mut r, 10).unwrap().is_none());

        let mut big = Vec::new();
        write_frame(&mut big, &[0u8; 11]).unwrap();
        let err = read_frame(&mut &big[..], 10).unwrap_err();
        assert!(err.to_string().contains("exceeds the limit"), "{err}");
    }
}
