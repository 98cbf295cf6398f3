//! The core's integration tests, one binary: `cargo test -p mosaic-core --test it [filter]`
//! (a test's name starts with its module, e.g. `rbac::`).

mod corpus;
mod generated;
mod rbac;
