//! Sinks without native dependencies: JSON lines (file or stdout) and, for tests, memory.

pub mod memory;

pub use memory::MemorySink;
