//! The test support's own real-stack tests, one binary: `cargo test -p mosaic-tests --test it
//! [filter]` (a test's name starts with its module, e.g. `proof_kube::`).

mod image;
mod proof_docker_registry;
mod proof_kube;
mod stack_down;
