//! What several plugin tests share: running the built `kubectl-mosaic` against a test
//! namespace with the objects it needs (`stack`), and krew's manifest rules and install
//! (`krew`, `krew_install`).

pub mod authz;
pub mod krew;
pub mod krew_install;
pub mod rbac_front;
pub mod stack;
pub mod webdriver;
