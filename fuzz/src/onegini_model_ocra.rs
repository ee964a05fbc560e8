//! OCRA (RFC 6287): `OcraSuite::parse` and everything computed from a suite —
//! `data_input`, `compute`, `verify`, `verify_in_window`, the mutual and signature modes and
//! `TimeStep::counter_for_unix`.
//!
//! Input, one field per line (missing lines are absent inputs):
//! `suite \n question \n key (hex, else the raw line) \n counter \n pin (or `#`+hex: a hashed
//! PIN) \n session (hex, else raw) \n timestamp \n window`.
//!
//! Invariants: never a panic; an accepted suite string is canonical (rebuilt from the parsed
//! fields it is the same text, so one suite has one spelling, which matters because the text
//! is hashed into the DataInput); `compute` succeeds exactly when the question fits the
//! suite's format and length and the other inputs fit; the DataInput is the RFC's
//! `suite ‖ 00 ‖ C ‖ Q(128, right-padded) ‖ P ‖ S(left-padded) ‖ T`, built here independently
//! (a numeric question through a different decimal→bytes conversion); the response is the
//! RFC 4226 truncation of an HMAC computed here with aws-lc-rs; `verify` accepts it and
//! rejects another; the mutual and signature modes are `compute` over the concatenated
//! challenges; `verify_in_window` finds a response made at another step inside the window.

use aws_lc_rs::{digest, hmac};
use onegini_model::hazmat::ocra::{
    MAX_WINDOW, OcraError, OcraHash, OcraInputs, OcraSuite, QuestionFormat, TimeUnit,
};

/// Hex as the crate reads it (either case, even length), written here independently: the
/// crate's own `hex` module is private.
mod hex {
    pub fn decode(text: &str) -> Result<Vec<u8>, ()> {
        if !text.len().is_multiple_of(2) {
            return Err(());
        }
        text.as_bytes()
            .chunks_exact(2)
            .map(|pair| {
                let digits = std::str::from_utf8(pair).map_err(|_| ())?;
                if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(());
                }
                u8::from_str_radix(digits, 16).map_err(|_| ())
            })
            .collect()
    }
}

fn hash_name(h: OcraHash) -> &'static str {
    h.name()
}

/// The suite string rebuilt from the parsed fields (the canonical spelling).
fn canonical(s: &OcraSuite) -> String {
    let mut out = format!("OCRA-1:HOTP-{}-{}:", hash_name(s.hash()), s.digits());
    if s.has_counter() {
        out.push_str("C-");
    }
    let q = s.question();
    let f = match q.format() {
        QuestionFormat::Alphanumeric => 'A',
        QuestionFormat::Numeric => 'N',
        QuestionFormat::Hex => 'H',
        _ => unreachable!("a new question format"),
    };
    out.push_str(&format!("Q{f}{:02}", q.max_len()));
    if let Some(p) = s.pin_hash() {
        out.push_str(&format!("-P{}", p.name()));
    }
    if let Some(n) = s.session_len() {
        out.push_str(&format!("-S{n:03}"));
    }
    if let Some(t) = s.timestamp() {
        let u = match t.unit() {
            TimeUnit::Seconds => 'S',
            TimeUnit::Minutes => 'M',
            TimeUnit::Hours => 'H',
            _ => unreachable!("a new time unit"),
        };
        out.push_str(&format!("-T{}{u}", t.count()));
    }
    out
}

fn digest_of(h: OcraHash, data: &[u8]) -> Vec<u8> {
    let alg = match h {
        OcraHash::Sha1 => &digest::SHA1_FOR_LEGACY_USE_ONLY,
        OcraHash::Sha256 => &digest::SHA256,
        OcraHash::Sha512 => &digest::SHA512,
        _ => unreachable!("a new hash"),
    };
    digest::digest(alg, data).as_ref().to_vec()
}

/// A decimal string → the bytes of its value's hex form, right-padded with one `0` nibble when
/// the hex form has an odd length (RFC 6287 reference code). Multiplies a big-endian byte
/// array by ten per digit (the crate divides by sixteen instead).
fn numeric_question(decimal: &str) -> Vec<u8> {
    let mut bytes: Vec<u8> = Vec::new();
    for d in decimal.bytes() {
        let mut carry = u32::from(d - b'0');
        for b in bytes.iter_mut().rev() {
            let v = u32::from(*b) * 10 + carry;
            *b = (v & 0xff) as u8;
            carry = v >> 8;
        }
        while carry > 0 {
            bytes.insert(0, (carry & 0xff) as u8);
            carry >>= 8;
        }
    }
    if bytes.is_empty() {
        bytes.push(0);
    }
    if bytes[0] < 0x10 {
        // Odd number of hex digits: shift left by a nibble.
        let mut out = vec![0u8; bytes.len()];
        for i in 0..bytes.len() {
            out[i] = (bytes[i] << 4) | bytes.get(i + 1).map_or(0, |n| n >> 4);
        }
        if bytes.len() == 1 && bytes[0] == 0 {
            return vec![0];
        }
        return out;
    }
    bytes
}

/// The question bytes if `q` is valid for the suite (format and length), `None` otherwise.
fn question_bytes(format: QuestionFormat, q: &str, max: usize) -> Option<Vec<u8>> {
    if q.is_empty() || q.len() > max {
        return None;
    }
    match format {
        QuestionFormat::Alphanumeric => q
            .bytes()
            .all(|b| (0x20..0x7f).contains(&b))
            .then(|| q.as_bytes().to_vec()),
        QuestionFormat::Numeric => q
            .bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| numeric_question(q)),
        QuestionFormat::Hex => {
            if !q.bytes().all(|b| b.is_ascii_hexdigit()) {
                return None;
            }
            let mut h = q.to_owned();
            if h.len() % 2 == 1 {
                h.push('0');
            }
            Some(
                h.as_bytes()
                    .chunks(2)
                    .map(|p| {
                        u8::from_str_radix(std::str::from_utf8(p).expect("ascii"), 16).expect("hex")
                    })
                    .collect(),
            )
        }
        _ => None,
    }
}

enum Pin<'a> {
    Plain(&'a [u8]),
    Hashed(Vec<u8>),
}

struct Fields<'a> {
    question: &'a str,
    key: Vec<u8>,
    counter: u64,
    pin: Pin<'a>,
    session: Vec<u8>,
    timestamp: u64,
    window: u64,
}

/// The DataInput built here, or `None` when the inputs do not fit the suite.
fn expected_data_input(
    s: &OcraSuite,
    f: &Fields<'_>,
    question: &str,
    mutual: bool,
) -> Option<Vec<u8>> {
    let mut d = s.as_str().as_bytes().to_vec();
    d.push(0);
    if s.has_counter() {
        d.extend_from_slice(&f.counter.to_be_bytes());
    }
    let max = s.question().max_len() * if mutual { 2 } else { 1 };
    let q = question_bytes(s.question().format(), question, max)?;
    assert!(q.len() <= 128);
    let mut block = [0u8; 128];
    block[..q.len()].copy_from_slice(&q);
    d.extend_from_slice(&block);
    if let Some(h) = s.pin_hash() {
        match &f.pin {
            Pin::Plain(p) => d.extend_from_slice(&digest_of(h, p)),
            Pin::Hashed(p) if p.len() == h.output_len() => d.extend_from_slice(p),
            Pin::Hashed(_) => return None,
        }
    }
    if let Some(n) = s.session_len() {
        if f.session.len() > n {
            return None;
        }
        d.extend(std::iter::repeat_n(0u8, n - f.session.len()));
        d.extend_from_slice(&f.session);
    }
    if s.timestamp().is_some() {
        d.extend_from_slice(&f.timestamp.to_be_bytes());
    }
    Some(d)
}

fn truncate(s: &OcraSuite, mac: &[u8]) -> String {
    if s.digits() == 0 {
        return mac.iter().map(|b| format!("{b:02x}")).collect();
    }
    let off = usize::from(mac[mac.len() - 1] & 0x0f);
    let bin = (u32::from(mac[off] & 0x7f) << 24)
        | (u32::from(mac[off + 1]) << 16)
        | (u32::from(mac[off + 2]) << 8)
        | u32::from(mac[off + 3]);
    let m = 10u64.pow(s.digits());
    format!("{:0w$}", u64::from(bin) % m, w = s.digits() as usize)
}

fn hmac_of(s: &OcraSuite, key: &[u8], data: &[u8]) -> Vec<u8> {
    let alg = match s.hash() {
        OcraHash::Sha1 => hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
        OcraHash::Sha256 => hmac::HMAC_SHA256,
        OcraHash::Sha512 => hmac::HMAC_SHA512,
        _ => unreachable!("a new hash"),
    };
    hmac::sign(&hmac::Key::new(alg, key), data)
        .as_ref()
        .to_vec()
}

/// Inputs carrying exactly what the suite needs.
fn inputs<'a>(s: &OcraSuite, f: &'a Fields<'a>, question: &'a str, t: u64) -> OcraInputs<'a> {
    let mut i = OcraInputs::new(question);
    if s.has_counter() {
        i = i.counter(f.counter);
    }
    if s.pin_hash().is_some() {
        i = match &f.pin {
            Pin::Plain(p) => i.pin(p),
            Pin::Hashed(h) => i.pin_hash(h),
        };
    }
    if s.session_len().is_some() {
        i = i.session(&f.session);
    }
    if s.timestamp().is_some() {
        i = i.timestamp(t);
    }
    i
}

fn check(s: &OcraSuite, f: &Fields<'_>) {
    let q = f.question;
    let i = inputs(s, f, q, f.timestamp);
    let expected = expected_data_input(s, f, q, false);
    let got = s.data_input(&i);
    match (&expected, &got) {
        (Some(e), Ok(g)) => assert_eq!(e, g, "DataInput differs"),
        (None, Err(_)) => {}
        (Some(_), Err(e)) => panic!("valid inputs refused: {e}"),
        (None, Ok(_)) => panic!("invalid inputs accepted (question {q:?})"),
    }
    let Some(data) = expected else {
        assert!(s.compute(&f.key, &i).is_err());
        return;
    };
    let answer = s
        .compute(&f.key, &i)
        .expect("compute succeeds on valid inputs");
    assert_eq!(answer, truncate(s, &hmac_of(s, &f.key, &data)));
    if s.digits() == 0 {
        assert_eq!(answer.len(), 2 * s.hash().output_len());
    } else {
        assert_eq!(answer.len(), s.digits() as usize);
        assert!(answer.bytes().all(|b| b.is_ascii_digit()));
    }
    assert!(s.verify(&f.key, &i, &answer).expect("verify"));
    let mut wrong = answer.clone().into_bytes();
    wrong[0] = if wrong[0] == b'0' { b'1' } else { b'0' };
    assert!(
        !s.verify(&f.key, &i, std::str::from_utf8(&wrong).expect("ascii"))
            .expect("verify")
    );
    assert!(!s.verify(&f.key, &i, "").expect("verify"));
    assert_eq!(
        s.signature(&f.key, q, &inputs(s, f, "", f.timestamp))
            .expect("signature"),
        answer
    );

    // Inputs the suite does not take are refused.
    if !s.has_counter() {
        assert!(matches!(
            s.compute(&f.key, &i.clone().counter(1)),
            Err(OcraError::UnexpectedInput(_))
        ));
    }
    if s.timestamp().is_none() {
        assert!(matches!(
            s.compute(&f.key, &i.clone().timestamp(1)),
            Err(OcraError::UnexpectedInput(_))
        ));
        assert!(s.verify_in_window(&f.key, &i, 1, &answer).is_err());
    }

    // Mutual mode: the two challenges concatenated, up to twice the question length.
    if let Some((c, sv)) = q.split_at_checked(q.len() / 2) {
        let extra = inputs(s, f, "", f.timestamp);
        let server = s.mutual_server_response(&f.key, c, sv, &extra);
        let client = s.mutual_client_response(&f.key, c, sv, &extra);
        assert_eq!(server, client);
        let both = format!("{c}{sv}");
        let mutual = inputs(s, f, &both, f.timestamp).mutual();
        assert_eq!(s.compute(&f.key, &mutual), server);
        match expected_data_input(s, f, &both, true) {
            Some(d) => assert_eq!(
                server.expect("mutual"),
                truncate(s, &hmac_of(s, &f.key, &d))
            ),
            None => assert!(server.is_err()),
        }
    }

    // Time-step window.
    if let Some(step) = s.timestamp() {
        let window = f.window % 4;
        let offset = (f.counter % (2 * window + 1)) as i64 - window as i64;
        let t = f.timestamp;
        let Some(at) = t.checked_add_signed(offset) else {
            return;
        };
        let other = s
            .compute(&f.key, &inputs(s, f, q, at))
            .expect("compute at another step");
        let found = s
            .verify_in_window(&f.key, &inputs(s, f, q, t), window, &other)
            .expect("window");
        let found = found.expect("a response inside the window is found");
        let at_found = t.checked_add_signed(found).expect("in range");
        assert_eq!(
            s.compute(&f.key, &inputs(s, f, q, at_found)).expect("c"),
            other
        );
        assert!(found.unsigned_abs() <= window);
        assert_eq!(
            s.verify_in_window(&f.key, &inputs(s, f, q, t), MAX_WINDOW + 1, &other),
            Err(OcraError::WindowTooLarge)
        );
        let secs = step.seconds();
        assert!((1..=48 * 3600).contains(&secs));
        let unix = (f.timestamp % (1 << 40)) as i64;
        assert_eq!(
            step.counter_for_unix(unix).expect("after epoch"),
            unix as u64 / secs
        );
        assert!(
            step.counter_for_unix(-1 - (f.counter % 1000) as i64)
                .is_err()
        );
    }
}

/// Runs one input (what libFuzzer hands the target); panics when an invariant breaks.
pub fn run(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut lines = text.split('\n');
    let suite_text = lines.next().unwrap_or_default();
    let parsed = OcraSuite::parse(suite_text);
    let Ok(suite) = parsed else {
        return;
    };
    assert_eq!(suite.as_str(), suite_text);
    assert_eq!(suite.to_string(), suite_text);
    assert_eq!(
        canonical(&suite),
        suite_text,
        "non-canonical suite accepted"
    );
    assert_eq!(suite_text.parse::<OcraSuite>().as_ref(), Ok(&suite));

    let question = lines.next().unwrap_or_default();
    let key_line = lines.next().unwrap_or_default();
    let key = hex::decode(key_line).unwrap_or_else(|_| key_line.as_bytes().to_vec());
    let counter = lines
        .next()
        .and_then(|l| l.trim().parse().ok())
        .unwrap_or(0u64);
    let pin_line = lines.next().unwrap_or("1234");
    let pin = match pin_line.strip_prefix('#') {
        Some(h) => Pin::Hashed(hex::decode(h).unwrap_or_default()),
        None => Pin::Plain(pin_line.as_bytes()),
    };
    let session_line = lines.next().unwrap_or_default();
    let session = hex::decode(session_line).unwrap_or_else(|_| session_line.as_bytes().to_vec());
    let timestamp = lines
        .next()
        .and_then(|l| l.trim().parse().ok())
        .unwrap_or(0u64);
    let window = lines
        .next()
        .and_then(|l| l.trim().parse().ok())
        .unwrap_or(1u64);
    let fields = Fields {
        question,
        key,
        counter,
        pin,
        session,
        timestamp,
        window,
    };
    check(&suite, &fields);
}
