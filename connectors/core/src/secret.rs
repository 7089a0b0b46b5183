//! Secrets by reference (placeholder: filled by the daemon-plumbing work).
