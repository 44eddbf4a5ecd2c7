//! Busy-time sources (placeholder).
