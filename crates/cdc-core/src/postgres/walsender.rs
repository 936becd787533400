//! A replication connection to a walsender (`replication=database`): startup, authentication, the replication
//! commands we use, and the CopyBoth stream of `START_REPLICATION`.
//!
//! Written here rather than taken from a crate: tokio-postgres has no replication mode, and the crates that add
//! one either fork it or hide the socket. We need the socket: the stream reads in bulk (one `read` pulls many
//! WAL messages, which is where a fast client saves the walsender most of its per-message syscalls), connects
//! over a Unix socket as well as TCP, and interleaves standby status updates with reads in one task. The message
//! encoders and SCRAM come from `postgres-protocol`, the crate tokio-postgres itself is built on.
//!
//! Protocol reference: <https://www.postgresql.org/docs/current/protocol-replication.html>.

use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};
use postgres_protocol::authentication::sasl::{
    ChannelBinding, ScramSha256, SCRAM_SHA_256, SCRAM_SHA_256_PLUS,
};
use postgres_protocol::message::frontend;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::connect::{classify_sqlstate, session_options};
use super::error::PgError;
use super::tls;
use crate::config::{PostgresConfig, SslMode};
use crate::lsn::Lsn;

/// Bytes requested from the socket per read: large enough that a busy stream is read in few syscalls.
const READ_CHUNK: usize = 256 * 1024;
/// A read below this size is a trickle: the stream waits [`LINGER`] before reading again (see
/// `WalSender::linger`).
const LINGER_BELOW: usize = 16 * 1024;
/// Half a millisecond, which tokio's timer rounds up to its 1 ms tick.
const LINGER: Duration = Duration::from_micros(500);

trait Transport: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Transport for T {}

/// A connection in replication mode, ready for replication commands.
pub struct WalSender {
    io: Box<dyn Transport>,
    read_buf: BytesMut,
    /// Bytes the last read returned.
    last_read: usize,
    /// Whether the replication stream waits for a trickle to grow ([`LINGER`]): over TCP only. A Unix socket
    /// counts every small send against a ~200 KB send buffer, which a millisecond of messages fills, and the
    /// server then stalls (measured: W1 over the socket fell from ~72k to ~60k events/s with it; over TCP
    /// it rose from ~70k to 89–148k and the client's CPU per event fell from 11 to 4 µs).
    linger: bool,
    write_buf: BytesMut,
    target: String,
}

impl std::fmt::Debug for WalSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WalSender").field("target", &self.target).finish_non_exhaustive()
    }
}

/// `IDENTIFY_SYSTEM`'s answer.
#[derive(Debug, Clone)]
pub struct SystemInfo {
    pub system_id: String,
    pub timeline: u32,
    pub xlog_pos: Lsn,
}

/// `CREATE_REPLICATION_SLOT`'s answer.
#[derive(Debug, Clone)]
pub struct CreatedSlot {
    /// The first position the slot will stream; everything committed before it is in the exported snapshot.
    pub consistent_point: Lsn,
    /// Name for `SET TRANSACTION SNAPSHOT`, valid until this connection runs its next command.
    pub snapshot_name: Option<String>,
}

/// One backend message: its tag and body.
struct Message {
    tag: u8,
    body: Bytes,
}

impl WalSender {
    /// Connects, negotiates TLS per `sslmode`, and authenticates (cleartext, MD5 or SCRAM-SHA-256).
    pub async fn connect(config: &PostgresConfig) -> Result<WalSender, PgError> {
        let timeout = Duration::from_secs(config.connect_timeout_secs.max(1));
        let target = config.describe();
        let io =
            tokio::time::timeout(timeout, open_transport(config)).await.map_err(|_| PgError::Connect {
                target: target.clone(),
                reason: "connection timed out".into(),
                hint: "check the host, the port and any firewall between here and the server",
                source: None,
            })??;
        let (io, tls_end_point) = io;
        let mut conn = WalSender {
            io,
            read_buf: BytesMut::with_capacity(READ_CHUNK),
            last_read: 0,
            linger: !config.host.starts_with('/'),
            write_buf: BytesMut::new(),
            target,
        };
        tokio::time::timeout(timeout, conn.startup(config, tls_end_point)).await.map_err(|_| {
            PgError::Connect {
                target: conn.target.clone(),
                reason: "timed out during startup and authentication".into(),
                hint: "the server accepted the connection but did not answer; check it is PostgreSQL",
                source: None,
            }
        })??;
        Ok(conn)
    }

    async fn startup(
        &mut self,
        config: &PostgresConfig,
        tls_end_point: Option<Vec<u8>>,
    ) -> Result<(), PgError> {
        let options = session_options();
        let params = [
            ("user", config.user.as_str()),
            ("database", config.dbname.as_str()),
            ("replication", "database"),
            ("application_name", config.application_name.as_str()),
            ("options", options.as_str()),
            ("client_encoding", "UTF8"),
        ];
        frontend::startup_message(params.iter().copied(), &mut self.write_buf)
            .map_err(|e| self.io_err("startup", e))?;
        self.send().await?;
        let password = config.password.as_ref().map(|p| p.expose().as_bytes().to_vec());
        let missing_password = || PgError::Connect {
            target: config.describe(),
            reason: "the server asks for a password and none is configured".into(),
            hint: "set POSTGRES_PASSWORD or [postgres].password",
            source: None,
        };
        let mut scram: Option<ScramSha256> = None;
        loop {
            let msg = self.read_message().await?;
            match msg.tag {
                b'R' => {
                    let mut body = msg.body.clone();
                    let kind = get_i32(&mut body, "authentication request")?;
                    match kind {
                        0 => {}
                        3 => {
                            let pw = password.as_deref().ok_or_else(missing_password)?;
                            frontend::password_message(pw, &mut self.write_buf).map_err(|e| self.io_err("auth", e))?;
                            self.send().await?;
                        }
                        5 => {
                            let pw = password.as_deref().ok_or_else(missing_password)?;
                            let salt: [u8; 4] = body
                                .get(..4)
                                .and_then(|s| s.try_into().ok())
                                .ok_or_else(|| PgError::Protocol("short MD5 salt".into()))?;
                            let hashed = postgres_protocol::authentication::md5_hash(config.user.as_bytes(), pw, salt);
                            frontend::password_message(hashed.as_bytes(), &mut self.write_buf)
                                .map_err(|e| self.io_err("auth", e))?;
                            self.send().await?;
                        }
                        10 => {
                            let pw = password.as_deref().ok_or_else(missing_password)?;
                            let mechanisms: Vec<&[u8]> = body.split(|b| *b == 0).filter(|m| !m.is_empty()).collect();
                            let plus = mechanisms.contains(&SCRAM_SHA_256_PLUS.as_bytes());
                            let (mechanism, binding) = match (&tls_end_point, plus) {
                                (Some(hash), true) => (SCRAM_SHA_256_PLUS, ChannelBinding::tls_server_end_point(hash.clone())),
                                (Some(_), false) => (SCRAM_SHA_256, ChannelBinding::unrequested()),
                                (None, _) => (SCRAM_SHA_256, ChannelBinding::unsupported()),
                            };
                            if !mechanisms.contains(&SCRAM_SHA_256.as_bytes()) && !plus {
                                return Err(PgError::Protocol("server offers no SASL mechanism we support".into()));
                            }
                            let s = ScramSha256::new(pw, binding);
                            frontend::sasl_initial_response(mechanism, s.message(), &mut self.write_buf)
                                .map_err(|e| self.io_err("auth", e))?;
                            self.send().await?;
                            scram = Some(s);
                        }
                        11 => {
                            let s = scram.as_mut().ok_or_else(|| PgError::Protocol("SASL continue before start".into()))?;
                            s.update(&body).map_err(|e| PgError::Protocol(format!("SCRAM: {e}")))?;
                            frontend::sasl_response(s.message(), &mut self.write_buf).map_err(|e| self.io_err("auth", e))?;
                            self.send().await?;
                        }
                        12 => {
                            let s = scram.as_mut().ok_or_else(|| PgError::Protocol("SASL final before start".into()))?;
                            s.finish(&body).map_err(|e| PgError::Protocol(format!("SCRAM server signature: {e}")))?;
                        }
                        other => {
                            return Err(PgError::Connect {
                                target: config.describe(),
                                reason: format!("unsupported authentication method {other}"),
                                hint: "use password, md5 or scram-sha-256 authentication for this role in pg_hba.conf",
                                source: None,
                            })
                        }
                    }
                }
                b'E' => {
                    let err = ServerError::parse(&msg.body);
                    let (reason, hint) = classify_sqlstate(&err.code, &err.message, config);
                    return Err(PgError::Connect { target: config.describe(), reason, hint, source: None });
                }
                b'Z' => return Ok(()),
                // ParameterStatus, BackendKeyData, NoticeResponse, NegotiateProtocolVersion: nothing to do.
                _ => {}
            }
        }
    }

    /// Runs one simple query and returns its rows as text (the last result set when there are several).
    pub async fn simple_query(&mut self, sql: &str) -> Result<Vec<Vec<Option<String>>>, PgError> {
        frontend::query(sql, &mut self.write_buf).map_err(|e| self.io_err("query", e))?;
        self.send().await?;
        let mut rows = Vec::new();
        let mut error = None;
        loop {
            let msg = self.read_message().await?;
            match msg.tag {
                b'T' => rows.clear(),
                b'D' => rows.push(parse_data_row(&msg.body)?),
                b'E' => error = Some(ServerError::parse(&msg.body)),
                b'Z' => break,
                _ => {}
            }
        }
        match error {
            Some(e) => Err(e.into_pg_error(sql)),
            None => Ok(rows),
        }
    }

    pub async fn identify_system(&mut self) -> Result<SystemInfo, PgError> {
        let rows = self.simple_query("IDENTIFY_SYSTEM").await?;
        let row = rows.first().ok_or_else(|| PgError::Protocol("IDENTIFY_SYSTEM returned no row".into()))?;
        let field = |i: usize| row.get(i).cloned().flatten().unwrap_or_default();
        Ok(SystemInfo {
            system_id: field(0),
            timeline: field(1).parse().map_err(|_| PgError::Protocol("bad timeline".into()))?,
            xlog_pos: field(2).parse().map_err(|e| PgError::Protocol(format!("{e}")))?,
        })
    }

    /// Creates a pgoutput slot; with `export_snapshot` the answer names a snapshot that sees exactly what
    /// precedes the slot's consistent point, for as long as this connection stays idle.
    pub async fn create_slot(
        &mut self,
        name: &str,
        temporary: bool,
        export_snapshot: bool,
    ) -> Result<CreatedSlot, PgError> {
        let sql = format!(
            "CREATE_REPLICATION_SLOT {}{} LOGICAL pgoutput {}",
            crate::schema::quote_ident(name),
            if temporary { " TEMPORARY" } else { "" },
            if export_snapshot { "EXPORT_SNAPSHOT" } else { "NOEXPORT_SNAPSHOT" }
        );
        let rows = self.simple_query(&sql).await?;
        let row = rows
            .first()
            .ok_or_else(|| PgError::Protocol("CREATE_REPLICATION_SLOT returned no row".into()))?;
        let consistent_point = row
            .get(1)
            .cloned()
            .flatten()
            .ok_or_else(|| PgError::Protocol("no consistent point".into()))?
            .parse()
            .map_err(|e| PgError::Protocol(format!("{e}")))?;
        Ok(CreatedSlot { consistent_point, snapshot_name: row.get(2).cloned().flatten() })
    }

    /// Sends `START_REPLICATION` and switches the connection to the CopyBoth stream.
    pub async fn start_replication(
        mut self,
        slot: &str,
        start: Lsn,
        plugin_options: &[(&str, String)],
    ) -> Result<ReplicationStream, PgError> {
        let options = plugin_options
            .iter()
            .map(|(k, v)| format!("\"{k}\" '{}'", v.replace('\'', "''")))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "START_REPLICATION SLOT {} LOGICAL {start} ({options})",
            crate::schema::quote_ident(slot)
        );
        frontend::query(&sql, &mut self.write_buf).map_err(|e| self.io_err("query", e))?;
        self.send().await?;
        let mut error = None;
        loop {
            let msg = self.read_message().await?;
            match msg.tag {
                b'W' => return Ok(ReplicationStream { conn: self }),
                b'E' => error = Some(ServerError::parse(&msg.body)),
                b'Z' => {
                    return Err(error.map(|e| e.into_pg_error("START_REPLICATION")).unwrap_or_else(|| {
                        PgError::Protocol("START_REPLICATION ended without streaming".into())
                    }))
                }
                _ => {}
            }
        }
    }

    async fn send(&mut self) -> Result<(), PgError> {
        let buf = self.write_buf.split();
        self.io.write_all(&buf).await.map_err(|e| PgError::Io { during: "write", source: e })?;
        self.io.flush().await.map_err(|e| PgError::Io { during: "write", source: e })
    }

    /// Reads one whole message. Cancel-safe: bytes read are kept in `read_buf` until a message is complete.
    async fn read_message(&mut self) -> Result<Message, PgError> {
        loop {
            if let Some(msg) = self.take_buffered()? {
                return Ok(msg);
            }
            if self.read_buf.capacity() - self.read_buf.len() < READ_CHUNK / 4 {
                self.read_buf.reserve(READ_CHUNK);
            }
            let n = self
                .io
                .read_buf(&mut self.read_buf)
                .await
                .map_err(|e| PgError::Io { during: "read", source: e })?;
            self.last_read = n;
            if n == 0 {
                return Err(PgError::Io {
                    during: "read",
                    source: std::io::Error::new(
                        std::io::ErrorKind::UnexpectedEof,
                        "server closed the connection",
                    ),
                });
            }
        }
    }

    fn take_buffered(&mut self) -> Result<Option<Message>, PgError> {
        let Some(header) = self.read_buf.get(..5) else { return Ok(None) };
        let tag = header[0];
        let len = i32::from_be_bytes([header[1], header[2], header[3], header[4]]);
        if len < 4 {
            return Err(PgError::Protocol(format!("message {:?} with invalid length {len}", tag as char)));
        }
        let total = 1 + len as usize;
        if self.read_buf.len() < total {
            self.read_buf.reserve(total - self.read_buf.len());
            return Ok(None);
        }
        let mut frame = self.read_buf.split_to(total);
        frame.advance(5);
        Ok(Some(Message { tag, body: frame.freeze() }))
    }

    fn io_err(&self, during: &'static str, e: std::io::Error) -> PgError {
        PgError::Io { during, source: e }
    }
}

/// The CopyBoth stream of `START_REPLICATION`.
#[derive(Debug)]
pub struct ReplicationStream {
    conn: WalSender,
}

impl ReplicationStream {
    /// The next CopyData payload (an XLogData or keepalive message). Cancel-safe.
    pub async fn recv(&mut self) -> Result<Bytes, PgError> {
        if self.conn.linger && self.conn.read_buf.is_empty() && self.conn.last_read < LINGER_BELOW {
            // The last read was a trickle: the server sends each message as it is decoded while we keep up,
            // and a wake-up per message costs both sides more than the message. Waiting a moment lets its
            // sends coalesce into one read (about a millisecond of latency; TCP's buffers hold far more).
            tokio::time::sleep(LINGER).await;
        }
        loop {
            let msg = self.conn.read_message().await?;
            match msg.tag {
                b'd' => return Ok(msg.body),
                b'E' => return Err(ServerError::parse(&msg.body).into_pg_error("streaming")),
                b'c' => {
                    return Err(PgError::Protocol("server ended the replication stream (CopyDone)".into()))
                }
                _ => {}
            }
        }
    }

    /// A CopyData payload already buffered, without waiting (lets a caller drain a burst before yielding).
    pub fn try_recv_buffered(&mut self) -> Result<Option<Bytes>, PgError> {
        while let Some(msg) = self.conn.take_buffered()? {
            match msg.tag {
                b'd' => return Ok(Some(msg.body)),
                b'E' => return Err(ServerError::parse(&msg.body).into_pg_error("streaming")),
                b'c' => {
                    return Err(PgError::Protocol("server ended the replication stream (CopyDone)".into()))
                }
                _ => {}
            }
        }
        Ok(None)
    }

    /// Sends one CopyData message (a standby status update).
    pub async fn send_copy_data(&mut self, payload: &[u8]) -> Result<(), PgError> {
        let data =
            frontend::CopyData::new(payload).map_err(|e| PgError::Io { during: "write", source: e })?;
        data.write(&mut self.conn.write_buf);
        self.conn.send().await
    }
}

/// An ErrorResponse's fields.
#[derive(Debug, Default)]
struct ServerError {
    code: String,
    message: String,
    detail: Option<String>,
    hint: Option<String>,
}

impl ServerError {
    fn parse(body: &[u8]) -> ServerError {
        let mut err = ServerError::default();
        for field in body.split(|b| *b == 0) {
            let Some((&kind, value)) = field.split_first() else { continue };
            let value = String::from_utf8_lossy(value).into_owned();
            match kind {
                b'C' => err.code = value,
                b'M' => err.message = value,
                b'D' => err.detail = Some(value),
                b'H' => err.hint = Some(value),
                _ => {}
            }
        }
        err
    }

    fn into_pg_error(self, during: &str) -> PgError {
        let mut message = self.message;
        if let Some(detail) = self.detail {
            message.push_str(&format!(" ({detail})"));
        }
        if let Some(hint) = self.hint {
            message.push_str(&format!("; hint: {hint}"));
        }
        PgError::Server { during: during.to_owned(), message, code: self.code }
    }
}

fn get_i32(body: &mut Bytes, what: &str) -> Result<i32, PgError> {
    if body.len() < 4 {
        return Err(PgError::Protocol(format!("truncated {what}")));
    }
    Ok(body.get_i32())
}

fn parse_data_row(body: &Bytes) -> Result<Vec<Option<String>>, PgError> {
    let mut b = body.clone();
    if b.len() < 2 {
        return Err(PgError::Protocol("truncated DataRow".into()));
    }
    let count = b.get_i16();
    let mut row = Vec::with_capacity(count.max(0) as usize);
    for _ in 0..count {
        let len = get_i32(&mut b, "DataRow")?;
        if len < 0 {
            row.push(None);
            continue;
        }
        let len = len as usize;
        if b.len() < len {
            return Err(PgError::Protocol("truncated DataRow value".into()));
        }
        row.push(Some(String::from_utf8_lossy(&b.split_to(len)).into_owned()));
    }
    Ok(row)
}

/// Opens TCP or a Unix socket, and TLS when `sslmode` asks for it. Returns the transport and, under TLS, the
/// `tls-server-end-point` hash for SCRAM channel binding.
async fn open_transport(config: &PostgresConfig) -> Result<(Box<dyn Transport>, Option<Vec<u8>>), PgError> {
    let connect_err = |e: std::io::Error| {
        let (reason, hint) = if e.kind() == std::io::ErrorKind::ConnectionRefused {
            (
                "connection refused".to_owned(),
                "is PostgreSQL running and listening there? check POSTGRES_HOST and POSTGRES_PORT",
            )
        } else {
            (e.to_string(), "check POSTGRES_HOST and POSTGRES_PORT")
        };
        PgError::Connect { target: config.describe(), reason, hint, source: Some(Box::new(e)) }
    };
    if config.host.starts_with('/') {
        let path = format!("{}/.s.PGSQL.{}", config.host, config.port);
        let stream = tokio::net::UnixStream::connect(&path).await.map_err(connect_err)?;
        return Ok((Box::new(stream), None));
    }
    let mut tcp =
        tokio::net::TcpStream::connect((config.host.as_str(), config.port)).await.map_err(connect_err)?;
    let _ = tcp.set_nodelay(true);
    let Some(tls) = tls::client_config(config)? else {
        return Ok((Box::new(tcp), None));
    };
    let mut request = BytesMut::new();
    frontend::ssl_request(&mut request);
    tcp.write_all(&request).await.map_err(connect_err)?;
    let mut answer = [0u8; 1];
    tcp.read_exact(&mut answer).await.map_err(connect_err)?;
    if answer[0] != b'S' {
        if config.sslmode == SslMode::Prefer {
            return Ok((Box::new(tcp), None));
        }
        return Err(PgError::Connect {
            target: config.describe(),
            reason: "the server does not accept TLS connections".into(),
            hint: "enable ssl on the server, or set sslmode = \"disable\"",
            source: None,
        });
    }
    let name = rustls::pki_types::ServerName::try_from(config.host.clone())
        .map_err(|e| PgError::Tls(format!("invalid host name for TLS: {e}")))?;
    let stream =
        tokio_rustls::TlsConnector::from(tls).connect(name, tcp).await.map_err(|e| PgError::Connect {
            target: config.describe(),
            reason: format!("TLS handshake failed: {e}"),
            hint: "check sslmode and sslrootcert, and the server's certificate",
            source: None,
        })?;
    let end_point = stream
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|certs| certs.first())
        .map(|cert| tls::end_point_hash(cert.as_ref()));
    Ok((Box::new(stream), end_point))
}
