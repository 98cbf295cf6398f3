//! The explain engine: objects in, findings out. Pure: no IO.

pub mod finding;

pub use finding::{Evidence, Finding, ObjectRef, Severity};
