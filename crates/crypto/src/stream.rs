//! Streaming file encryption (STREAM construction over AES-256-GCM segments). Being written.
