//! Sizes on the command line, as Kubernetes writes quantities of bytes: a plain number of
//! bytes, or a number with a binary (`Ki`, `Mi`, `Gi`, `Ti`) or decimal (`k`, `M`, `G`, `T`)
//! suffix. `--engine-disk-budget 16Gi` is the builder's example.

/// Why a size could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "{0:?} is not a size: write bytes, or a whole number with Ki, Mi, Gi, Ti (or k, M, G, T), e.g. 16Gi"
)]
pub struct SizeError(pub String);

/// Bytes in `s`.
pub fn parse_bytes(s: &str) -> Result<u64, SizeError> {
    let t = s.trim();
    let digits = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (n, unit) = t.split_at(digits);
    let factor: u64 = match unit {
        "" => 1,
        "k" => 1_000,
        "M" => 1_000_000,
        "G" => 1_000_000_000,
        "T" => 1_000_000_000_000,
        "Ki" => 1 << 10,
        "Mi" => 1 << 20,
        "Gi" => 1 << 30,
        "Ti" => 1 << 40,
        _ => return Err(SizeError(s.into())),
    };
    n.parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(factor))
        .ok_or_else(|| SizeError(s.into()))
}

#[cfg(test)]
mod tests;
