//! Reading an image's OCI labels from its registry (manifest, then config blob),
//! for `bind --auto`'s `org.opencontainers.image.source` lookup.
