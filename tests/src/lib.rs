//! Real-stack test support: connects tests to the local stack (Kubernetes API,
//! dockerd, registry) started by `scripts/stack`, and gives each test its own namespace.
