//! Sinks without native dependencies: JSON lines (file or stdout) and, for tests, memory.

pub mod jsonl;
pub mod memory;

pub use jsonl::JsonLinesSink;
pub use memory::MemorySink;
