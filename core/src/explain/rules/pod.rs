//! Pod rules, and the container-status view they share.

use super::Rule;

/// Every Pod rule.
pub const RULES: &[Rule] = &[];
