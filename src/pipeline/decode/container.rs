//! Whether an Ogg or Matroska/WebM file was cut short. Their readers stop quietly at a cut (an
//! Ogg reader at a partial page, a WebM reader at the end of a live-written file, whose segment
//! and clusters declare no size), so a truncated recording would pass for a shorter one. This
//! walks the file's structure, skipping the audio, and finds whether its last page or element
//! runs past the end of the file.

use std::io::{BufReader, Read, Seek, SeekFrom};

use crate::watchdog::Deadline;

/// The containers whose structure is walked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Container {
    Ogg,
    Matroska,
}

impl Container {
    /// The container's name, for error messages.
    pub(super) fn name(self) -> &'static str {
        match self {
            Container::Ogg => "Ogg",
            Container::Matroska => "Matroska/WebM",
        }
    }

    /// What a cut file ends in the middle of, for the error message.
    pub(super) fn unit(self) -> &'static str {
        match self {
            Container::Ogg => "an Ogg page",
            Container::Matroska => "a Matroska/WebM element",
        }
    }

    /// The container of a file from its first bytes.
    pub(super) fn sniff(head: &[u8]) -> Option<Self> {
        match head {
            [b'O', b'g', b'g', b'S', ..] => Some(Container::Ogg),
            [0x1a, 0x45, 0xdf, 0xa3, ..] => Some(Container::Matroska),
            _ => None,
        }
    }
}

/// What the walk found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Walk {
    /// The structure ends with the file (or turns into something the walk does not know,
    /// which the reader then judges).
    Whole,
    /// The last page or element runs past the end of the file.
    Cut,
    /// The watchdog's deadline passed first.
    TimedOut,
}

/// Walk `source` (`len` bytes) as `container`; it is left at an unspecified position.
pub(super) fn walk<S: Read + Seek + ?Sized>(
    source: &mut S,
    len: u64,
    container: Container,
    deadline: Deadline,
) -> std::io::Result<Walk> {
    source.seek(SeekFrom::Start(0))?;
    let mut r = BufReader::with_capacity(1 << 16, source);
    match container {
        Container::Ogg => ogg(&mut r, len, deadline),
        Container::Matroska => matroska(&mut r, len, deadline),
    }
}

/// Fill `buf` from `r`; how many bytes were there (fewer only at the end of the file).
fn fill<R: Read>(r: &mut R, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

/// Ogg (RFC 3533): pages of a 27-byte header, a segment table and the segments.
fn ogg<R: Read + Seek>(
    r: &mut BufReader<R>,
    len: u64,
    deadline: Deadline,
) -> std::io::Result<Walk> {
    let mut at = 0u64;
    let mut pages = 0u64;
    while at < len {
        pages += 1;
        if pages.is_multiple_of(4096) && deadline.passed() {
            return Ok(Walk::TimedOut);
        }
        let mut head = [0u8; 27];
        let got = fill(r, &mut head)?;
        let capture = got.min(4);
        if head[..capture] != b"OggS"[..capture] {
            // not a page: whatever follows the stream is the reader's to judge
            return Ok(Walk::Whole);
        }
        if got < 27 {
            return Ok(Walk::Cut);
        }
        let mut table = vec![0u8; head[26] as usize];
        if fill(r, &mut table)? < table.len() {
            return Ok(Walk::Cut);
        }
        let body: u64 = table.iter().map(|&s| s as u64).sum();
        let end = at + 27 + table.len() as u64 + body;
        if end > len {
            return Ok(Walk::Cut);
        }
        r.seek_relative(body as i64)?;
        at = end;
    }
    Ok(Walk::Whole)
}

/// An EBML variable-length integer: its value (the length marker removed when `strip`, as for
/// sizes), whether a size's value bits are all set (an "unknown" size) and its width in bytes.
/// `None` at the end of the file; a value of `u64::MAX` for a first byte of zero, which no valid
/// integer has.
fn vint<R: Read>(r: &mut R, strip: bool) -> std::io::Result<Option<(u64, bool, u64)>> {
    let mut first = [0u8; 1];
    if fill(r, &mut first)? == 0 {
        return Ok(None);
    }
    let width = first[0].leading_zeros() as usize + 1;
    if width > 8 {
        return Ok(Some((u64::MAX, false, 1)));
    }
    let mut rest = [0u8; 7];
    if fill(r, &mut rest[..width - 1])? < width - 1 {
        return Ok(None);
    }
    let marker = 0x80u8 >> (width - 1);
    let mut value = if strip { first[0] & !marker } else { first[0] } as u64;
    for &b in &rest[..width - 1] {
        value = (value << 8) | b as u64;
    }
    let unknown = strip && value == (1u64 << (7 * width)) - 1;
    Ok(Some((value, unknown, width as u64)))
}

/// Matroska/WebM: EBML elements of an ID, a size and a body. The segment and its clusters are
/// entered (a live-written file gives them no size); every other element is skipped whole.
fn matroska<R: Read + Seek>(
    r: &mut BufReader<R>,
    len: u64,
    deadline: Deadline,
) -> std::io::Result<Walk> {
    const SEGMENT: u64 = 0x1853_8067;
    const CLUSTER: u64 = 0x1f43_b675;
    // the largest element other than the segment and clusters (an attachment, say)
    const MAX_ELEMENT: u64 = 64 << 20;
    // the IDs met at the top, in the segment and in a cluster (Matroska's EBML schema):
    // EBML header, segment; seek head, info, tracks, cluster, cues, tags, chapters,
    // attachments; timestamp, simple block, block group, position, previous size, silent
    // tracks, encrypted block; void and CRC-32 anywhere
    const KNOWN: [u64; 19] = [
        0x1a45_dfa3,
        SEGMENT,
        0x114d_9b74,
        0x1549_a966,
        0x1654_ae6b,
        CLUSTER,
        0x1c53_bb6b,
        0x1254_c367,
        0x1043_a770,
        0x1941_a469,
        0xe7,
        0xa3,
        0xa0,
        0xa7,
        0xab,
        0x5854,
        0xaf,
        0xec,
        0xbf,
    ];
    let mut at = 0u64;
    let mut elements = 0u64;
    while at < len {
        elements += 1;
        if elements.is_multiple_of(4096) && deadline.passed() {
            return Ok(Walk::TimedOut);
        }
        let Some((id, _, id_len)) = vint(r, false)? else {
            return Ok(Walk::Cut);
        };
        if id == u64::MAX {
            return Ok(Walk::Whole);
        }
        let Some((size, unknown, size_len)) = vint(r, true)? else {
            return Ok(Walk::Cut);
        };
        if size == u64::MAX {
            return Ok(Walk::Whole);
        }
        at += id_len + size_len;
        if !KNOWN.contains(&id) {
            // not an element of the segment's or a cluster's: a damaged file, for the reader
            return Ok(Walk::Whole);
        }
        if id == SEGMENT || id == CLUSTER {
            // enter it: its children follow (a known size must still fit in the file)
            if !unknown && at.saturating_add(size) > len {
                return Ok(Walk::Cut);
            }
            continue;
        }
        if unknown || size > MAX_ELEMENT {
            // only the segment and clusters may leave their size open, and no element of an
            // audio file is that large: a damaged file, for the reader to judge
            return Ok(Walk::Whole);
        }
        let end = at.saturating_add(size);
        if end > len {
            return Ok(Walk::Cut);
        }
        r.seek_relative(size as i64)?;
        at = end;
    }
    Ok(Walk::Whole)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn walk_bytes(bytes: &[u8], c: Container) -> Walk {
        walk(
            &mut Cursor::new(bytes.to_vec()),
            bytes.len() as u64,
            c,
            Deadline::none(),
        )
        .unwrap()
    }

    /// One Ogg page with `body` bytes in one segment.
    fn page(body: u8) -> Vec<u8> {
        let mut p = b"OggS".to_vec();
        p.extend_from_slice(&[0; 22]);
        p.push(1);
        p.push(body);
        p.extend(std::iter::repeat_n(7u8, body as usize));
        p
    }

    #[test]
    fn an_ogg_file_cut_inside_a_page_is_cut() {
        let mut file = page(100);
        file.extend(page(50));
        assert_eq!(walk_bytes(&file, Container::Ogg), Walk::Whole);
        for cut in [file.len() - 1, file.len() - 50, 130, 100] {
            assert_eq!(walk_bytes(&file[..cut], Container::Ogg), Walk::Cut, "{cut}");
        }
        // cut exactly between pages: a shorter stream, not a cut one
        assert_eq!(walk_bytes(&file[..128], Container::Ogg), Walk::Whole);
    }

    #[test]
    fn a_webm_file_cut_inside_an_element_is_cut() {
        // EBML header (empty), a segment and a cluster of unknown size, two blocks of 5 bytes
        let mut file = vec![0x1a, 0x45, 0xdf, 0xa3, 0x80];
        file.extend([
            0x18, 0x53, 0x80, 0x67, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        ]);
        file.extend([0x1f, 0x43, 0xb6, 0x75, 0xff]);
        for _ in 0..2 {
            file.extend([0xa3, 0x85, 1, 2, 3, 4, 5]);
        }
        assert_eq!(walk_bytes(&file, Container::Matroska), Walk::Whole);
        assert_eq!(
            walk_bytes(&file[..file.len() - 2], Container::Matroska),
            Walk::Cut
        );
        assert_eq!(
            walk_bytes(&file[..file.len() - 6], Container::Matroska),
            Walk::Cut
        );
        // a known segment size larger than the file
        let mut sized = file.clone();
        sized[9..17].copy_from_slice(&[0x01, 0, 0, 0, 0, 0, 0x10, 0]);
        assert_eq!(walk_bytes(&sized, Container::Matroska), Walk::Cut);
    }
}
