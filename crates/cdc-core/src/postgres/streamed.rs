//! Large transactions under pgoutput protocol v2 (`streaming 'on'`, PostgreSQL ≥ 14): the server sends a
//! transaction's changes before it commits, in blocks (StreamStart … StreamStop), once its reorder buffer passes
//! `logical_decoding_work_mem`; a StreamCommit or StreamAbort settles it later, and blocks of several
//! transactions interleave with each other and with ordinary transactions.
//!
//! [`StreamedTransactions`] keeps each open transaction's messages, undecoded, in a byte buffer; past
//! `stream_memory_limit_kb` across all of them, the largest buffer is appended to that transaction's spill file
//! (an unlinked temporary file in `TMPDIR`, so a killed process leaves nothing behind). Memory therefore stays
//! bounded whatever the transaction size. A StreamAbort drops the transaction, or marks a subtransaction whose
//! changes are skipped on replay. A StreamCommit turns the transaction into a [`Replay`]: its messages, spilled
//! ones first, in the order they were streamed, which the source feeds through the decoder between a Begin and a
//! Commit of its own — events come out exactly as protocol v1 would have sent them at commit, in commit order.
//!
//! Nothing here needs acknowledging: a transaction that commits after the slot's confirmed position is sent
//! again in full after a restart, streamed or not.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};

use super::error::PgError;
use crate::lsn::Lsn;

/// One buffered message: its WAL position, its length, then the pgoutput bytes (xid included).
const RECORD_HEADER: usize = 8 + 4;

/// The open streamed transactions of one replication session.
#[derive(Debug)]
pub struct StreamedTransactions {
    open: HashMap<u32, Buffered>,
    /// The transaction of the current stream block, between StreamStart and StreamStop.
    block: Option<u32>,
    /// Bytes held in memory across all open transactions.
    in_memory: usize,
    memory_limit: usize,
    spilled_bytes: u64,
    committed: u64,
}

#[derive(Debug, Default)]
struct Buffered {
    memory: Vec<u8>,
    spill: Option<BufWriter<File>>,
    /// Subtransactions rolled back: their data changes are skipped on replay.
    aborted: HashSet<u32>,
    messages: u64,
}

impl StreamedTransactions {
    pub fn new(memory_limit: usize) -> Self {
        StreamedTransactions {
            open: HashMap::new(),
            block: None,
            in_memory: 0,
            memory_limit,
            spilled_bytes: 0,
            committed: 0,
        }
    }

    /// Between StreamStart and StreamStop: messages then carry an xid and belong to [`Self::push`].
    pub fn in_block(&self) -> bool {
        self.block.is_some()
    }

    /// Transactions streamed but not yet committed or aborted.
    pub fn open_transactions(&self) -> usize {
        self.open.len()
    }

    /// Bytes written to spill files so far.
    pub fn spilled_bytes(&self) -> u64 {
        self.spilled_bytes
    }

    /// Streamed transactions that committed so far.
    pub fn committed(&self) -> u64 {
        self.committed
    }

    pub fn start_block(&mut self, xid: u32) -> Result<(), PgError> {
        if let Some(open) = self.block {
            return Err(PgError::Protocol(format!("StreamStart for {xid} inside the block of {open}")));
        }
        self.open.entry(xid).or_default();
        self.block = Some(xid);
        Ok(())
    }

    pub fn stop_block(&mut self) -> Result<(), PgError> {
        self.block
            .take()
            .map(|_| ())
            .ok_or_else(|| PgError::Protocol("StreamStop outside a stream block".into()))
    }

    /// Keeps one message of the current block; spills the largest buffer when memory is over the limit.
    pub fn push(&mut self, lsn: Lsn, message: &[u8]) -> Result<(), PgError> {
        let xid =
            self.block.ok_or_else(|| PgError::Protocol("streamed change outside a stream block".into()))?;
        let len = u32::try_from(message.len())
            .map_err(|_| PgError::Protocol(format!("streamed message of {} bytes", message.len())))?;
        let buffered = self.open.entry(xid).or_default();
        buffered.memory.reserve(RECORD_HEADER + message.len());
        buffered.memory.extend_from_slice(&lsn.as_u64().to_be_bytes());
        buffered.memory.extend_from_slice(&len.to_be_bytes());
        buffered.memory.extend_from_slice(message);
        buffered.messages += 1;
        self.in_memory += RECORD_HEADER + message.len();
        if self.in_memory > self.memory_limit {
            self.spill_largest()?;
        }
        Ok(())
    }

    fn spill_largest(&mut self) -> Result<(), PgError> {
        let Some((&xid, _)) = self.open.iter().max_by_key(|(_, b)| b.memory.len()) else { return Ok(()) };
        let Some(buffered) = self.open.get_mut(&xid) else { return Ok(()) };
        let file = match &mut buffered.spill {
            Some(file) => file,
            None => {
                let file = tempfile::tempfile().map_err(PgError::Spill)?;
                tracing::info!(
                    xid,
                    buffered_bytes = buffered.memory.len(),
                    "large streamed transaction spills to disk"
                );
                buffered.spill.insert(BufWriter::with_capacity(1 << 20, file))
            }
        };
        file.write_all(&buffered.memory).map_err(PgError::Spill)?;
        self.in_memory -= buffered.memory.len();
        self.spilled_bytes += buffered.memory.len() as u64;
        buffered.memory = Vec::new();
        Ok(())
    }

    /// StreamAbort: the whole transaction (`subxact_xid == xid`) or one subtransaction rolled back.
    pub fn abort(&mut self, xid: u32, subxact_xid: u32) {
        if subxact_xid == xid {
            if let Some(buffered) = self.open.remove(&xid) {
                self.in_memory -= buffered.memory.len();
            }
        } else if let Some(buffered) = self.open.get_mut(&xid) {
            buffered.aborted.insert(subxact_xid);
        }
    }

    /// StreamCommit: the transaction's messages, ready to be decoded in order. A transaction that streamed
    /// nothing of ours (possible when its changes were all filtered out) replays nothing.
    pub fn commit(&mut self, xid: u32) -> Result<Replay, PgError> {
        let buffered = self.open.remove(&xid).unwrap_or_default();
        self.in_memory -= buffered.memory.len();
        self.committed += 1;
        let spilled = match buffered.spill {
            Some(writer) => {
                let mut file = writer.into_inner().map_err(|e| PgError::Spill(e.into_error()))?;
                file.seek(SeekFrom::Start(0)).map_err(PgError::Spill)?;
                Some(BufReader::with_capacity(1 << 20, file))
            }
            None => None,
        };
        Ok(Replay {
            spilled,
            memory: buffered.memory,
            memory_at: 0,
            aborted: buffered.aborted,
            remaining: buffered.messages,
            scratch: Vec::new(),
        })
    }
}

/// A committed streamed transaction, message by message.
#[derive(Debug)]
pub struct Replay {
    spilled: Option<BufReader<File>>,
    memory: Vec<u8>,
    memory_at: usize,
    aborted: HashSet<u32>,
    remaining: u64,
    scratch: Vec<u8>,
}

impl Replay {
    /// Whether changes of subtransaction `xid` were rolled back and must be skipped.
    pub fn rolled_back(&self, xid: u32) -> bool {
        self.aborted.contains(&xid)
    }

    /// The next message and its WAL position, or `None` when the transaction is exhausted.
    pub fn next_message(&mut self) -> Result<Option<(Lsn, &[u8])>, PgError> {
        if self.remaining == 0 {
            return Ok(None);
        }
        self.remaining -= 1;
        if let Some(file) = &mut self.spilled {
            let mut header = [0u8; RECORD_HEADER];
            match file.read_exact(&mut header) {
                Ok(()) => {
                    let (lsn, len) = parse_header(&header);
                    self.scratch.resize(len, 0);
                    file.read_exact(&mut self.scratch).map_err(PgError::Spill)?;
                    return Ok(Some((lsn, &self.scratch)));
                }
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => self.spilled = None,
                Err(e) => return Err(PgError::Spill(e)),
            }
        }
        let rest = &self.memory[self.memory_at..];
        if rest.len() < RECORD_HEADER {
            return Err(PgError::Protocol("streamed transaction buffer ended early".into()));
        }
        let (lsn, len) = parse_header(&rest[..RECORD_HEADER]);
        let body = rest
            .get(RECORD_HEADER..RECORD_HEADER + len)
            .ok_or_else(|| PgError::Protocol("streamed transaction buffer ended early".into()))?;
        self.memory_at += RECORD_HEADER + len;
        Ok(Some((lsn, body)))
    }
}

fn parse_header(header: &[u8]) -> (Lsn, usize) {
    let mut lsn = [0u8; 8];
    lsn.copy_from_slice(&header[..8]);
    let mut len = [0u8; 4];
    len.copy_from_slice(&header[8..RECORD_HEADER]);
    (Lsn::new(u64::from_be_bytes(lsn)), u32::from_be_bytes(len) as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(mut replay: Replay) -> Vec<(u64, Vec<u8>)> {
        let mut out = Vec::new();
        while let Some((lsn, body)) = replay.next_message().unwrap() {
            out.push((lsn.as_u64(), body.to_vec()));
        }
        out
    }

    fn message(i: u64) -> Vec<u8> {
        format!("message {i} ").repeat((i % 7 + 1) as usize).into_bytes()
    }

    #[test]
    fn replays_in_streamed_order_across_spill_and_memory() {
        // A limit of 200 bytes spills after every few messages; interleaved transactions keep their own order.
        let mut streamed = StreamedTransactions::new(200);
        for block in 0..10u64 {
            let xid = 100 + (block % 2) as u32;
            streamed.start_block(xid).unwrap();
            for i in 0..5 {
                let n = block * 5 + i;
                streamed.push(Lsn::new(n), &message(n)).unwrap();
            }
            streamed.stop_block().unwrap();
        }
        assert!(streamed.spilled_bytes() > 0, "the limit forces a spill");
        assert!(streamed.in_memory <= 200 + RECORD_HEADER + 100);
        let expected = |parity: u64| -> Vec<(u64, Vec<u8>)> {
            (0..50).filter(|n| (n / 5) % 2 == parity).map(|n| (n, message(n))).collect()
        };
        assert_eq!(drain(streamed.commit(101).unwrap()), expected(1));
        assert_eq!(drain(streamed.commit(100).unwrap()), expected(0));
        assert_eq!(streamed.open_transactions(), 0);
        assert_eq!(streamed.in_memory, 0);
    }

    #[test]
    fn abort_drops_the_transaction_and_marks_subtransactions() {
        let mut streamed = StreamedTransactions::new(1 << 20);
        streamed.start_block(7).unwrap();
        streamed.push(Lsn::new(1), b"a").unwrap();
        streamed.stop_block().unwrap();
        streamed.abort(7, 8);
        streamed.start_block(9).unwrap();
        streamed.push(Lsn::new(2), b"b").unwrap();
        streamed.stop_block().unwrap();
        streamed.abort(9, 9);
        assert_eq!(streamed.open_transactions(), 1);
        let replay = streamed.commit(7).unwrap();
        assert!(replay.rolled_back(8));
        assert!(!replay.rolled_back(7));
        assert_eq!(drain(replay), vec![(1, b"a".to_vec())]);
        assert_eq!(streamed.in_memory, 0);
        assert!(drain(streamed.commit(9).unwrap()).is_empty(), "an aborted transaction replays nothing");
    }

    #[test]
    fn block_framing_errors_are_protocol_errors() {
        let mut streamed = StreamedTransactions::new(1024);
        assert!(matches!(streamed.push(Lsn::new(1), b"x"), Err(PgError::Protocol(_))));
        assert!(matches!(streamed.stop_block(), Err(PgError::Protocol(_))));
        streamed.start_block(1).unwrap();
        assert!(matches!(streamed.start_block(2), Err(PgError::Protocol(_))));
    }
}
