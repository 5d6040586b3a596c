//! Byte-exact DER slicing for the few places where re-encoding is not allowed: the raw
//! `TBSCertificate` a signature covers, and the precertificate TBS an SCT covers (the leaf TBS
//! with one extension removed, every other byte kept). Semantic parsing uses `x509-cert`.

/// One DER TLV: its tag byte, its whole encoding and its content.
#[derive(Clone, Copy, Debug)]
pub struct Tlv<'a> {
    pub tag: u8,
    pub raw: &'a [u8],
    pub content: &'a [u8],
}

/// Exactly one TLV in `content` (`what` names it in the error), with nothing after it.
pub fn read_one<'a>(content: &'a [u8], what: &str) -> Result<Tlv<'a>, String> {
    let (tlv, rest) = read_tlv(content).map_err(str::to_owned)?;
    if !rest.is_empty() {
        return Err(format!("trailing bytes after {what}"));
    }
    Ok(tlv)
}

/// `tlv` must have tag `tag` (`what` names it in the error).
pub fn expect_tag(tlv: &Tlv<'_>, tag: u8, what: &str) -> Result<(), String> {
    if tlv.tag == tag {
        Ok(())
    } else {
        Err(format!(
            "{what} has tag {:#04x}, expected {tag:#04x}",
            tlv.tag
        ))
    }
}

/// Read one definite-length TLV with a single-byte tag from the front of `input`.
pub fn read_tlv(input: &[u8]) -> Result<(Tlv<'_>, &[u8]), &'static str> {
    let (&tag, rest) = input.split_first().ok_or("truncated DER (tag)")?;
    if tag & 0x1f == 0x1f {
        return Err("multi-byte DER tags are not supported");
    }
    let (&first, rest) = rest.split_first().ok_or("truncated DER (length)")?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return Err("unsupported or truncated DER length");
        }
        let mut len = 0usize;
        for &b in &rest[..n] {
            len = (len << 8) | usize::from(b);
        }
        if len < 0x80 || (n > 1 && rest[0] == 0) {
            return Err("non-minimal DER length");
        }
        (len, &rest[n..])
    };
    if rest.len() < len {
        return Err("truncated DER (content)");
    }
    let header_len = input.len() - rest.len();
    let raw = &input[..header_len + len];
    Ok((
        Tlv {
            tag,
            raw,
            content: &rest[..len],
        },
        &rest[len..],
    ))
}

/// Split a constructed value's content into its child TLVs.
pub fn children(mut content: &[u8]) -> Result<Vec<Tlv<'_>>, &'static str> {
    let mut out = Vec::new();
    while !content.is_empty() {
        let (tlv, rest) = read_tlv(content)?;
        out.push(tlv);
        content = rest;
    }
    Ok(out)
}

/// Encode a TLV with a single-byte tag and a DER length.
pub fn encode_tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let len = content.len();
    let mut out = Vec::with_capacity(len + 6);
    out.push(tag);
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(content);
    out
}

/// The raw `TBSCertificate` TLV of a DER certificate, exactly as received.
pub fn raw_tbs(cert_der: &[u8]) -> Result<&[u8], &'static str> {
    let (outer, rest) = read_tlv(cert_der)?;
    if outer.tag != 0x30 || !rest.is_empty() {
        return Err("certificate is not a single DER SEQUENCE");
    }
    let (tbs, _) = read_tlv(outer.content)?;
    if tbs.tag != 0x30 {
        return Err("TBSCertificate is not a SEQUENCE");
    }
    Ok(tbs.raw)
}

/// Re-encode a raw TBSCertificate without the extension whose DER-encoded OID TLV is `oid_tlv`,
/// keeping every other byte and the order of the remaining extensions.
pub fn tbs_without_extension(tbs: &[u8], oid_tlv: &[u8]) -> Result<Vec<u8>, &'static str> {
    let (outer, rest) = read_tlv(tbs)?;
    if outer.tag != 0x30 || !rest.is_empty() {
        return Err("TBSCertificate is not a single SEQUENCE");
    }
    let mut body = Vec::with_capacity(outer.content.len());
    let mut removed = false;
    for field in children(outer.content)? {
        if field.tag != 0xa3 {
            body.extend_from_slice(field.raw);
            continue;
        }
        let (exts, tail) = read_tlv(field.content)?;
        if exts.tag != 0x30 || !tail.is_empty() {
            return Err("malformed extensions field");
        }
        let mut kept = Vec::with_capacity(exts.content.len());
        for ext in children(exts.content)? {
            let (oid, _) = read_tlv(ext.content)?;
            if oid.raw == oid_tlv {
                removed = true;
            } else {
                kept.extend_from_slice(ext.raw);
            }
        }
        body.extend_from_slice(&encode_tlv(0xa3, &encode_tlv(0x30, &kept)));
    }
    if !removed {
        return Err("extension not present");
    }
    Ok(encode_tlv(0x30, &body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tlv_round_trip_lengths() {
        for len in [0usize, 1, 127, 128, 255, 256, 65_535, 70_000] {
            let content = vec![7u8; len];
            let enc = encode_tlv(0x04, &content);
            let (tlv, rest) = read_tlv(&enc).unwrap();
            assert!(rest.is_empty());
            assert_eq!(tlv.tag, 0x04);
            assert_eq!(tlv.content.len(), len);
            assert_eq!(tlv.raw, &enc[..]);
        }
    }

    #[test]
    fn rejects_bad_der() {
        assert!(read_tlv(&[]).is_err());
        assert!(read_tlv(&[0x30]).is_err());
        assert!(read_tlv(&[0x30, 0x05, 0x00]).is_err(), "truncated content");
        assert!(
            read_tlv(&[0x30, 0x81, 0x05, 0, 0, 0, 0, 0]).is_err(),
            "non-minimal"
        );
        assert!(read_tlv(&[0x1f, 0x01, 0x00]).is_err(), "high tag number");
        assert!(read_tlv(&[0x30, 0x80]).is_err(), "indefinite length");
        assert!(raw_tbs(&[0x30, 0x00, 0x00]).is_err(), "trailing bytes");
    }
}
