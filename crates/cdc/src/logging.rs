//! Logs on stderr: text for people, JSON lines for Loki (`--log-format json`). Level from `CDC_LOG` or
//! `RUST_LOG` (default `info`).

use std::io::Write;

use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::EnvFilter;

use crate::cli::LogFormat;
use crate::progress::TerminalBars;

/// `bars`: the progress bars sharing the terminal, cleared around each log line.
pub fn init(format: LogFormat, bars: Option<TerminalBars>) {
    let filter = std::env::var("CDC_LOG")
        .ok()
        .or_else(|| std::env::var("RUST_LOG").ok())
        .and_then(|f| EnvFilter::try_new(f).ok())
        .unwrap_or_else(|| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(Stderr { bars });
    let _ = match format {
        LogFormat::Text => builder.with_target(false).try_init(),
        // Span fields (the pipeline's name) go in `spans`; event fields (table, lsn, error) at the top level.
        LogFormat::Json => {
            builder.json().flatten_event(true).with_current_span(false).with_span_list(true).try_init()
        }
    };
}

/// stderr, written with the progress bars out of the way.
struct Stderr {
    bars: Option<TerminalBars>,
}

impl<'a> MakeWriter<'a> for Stderr {
    type Writer = StderrLine<'a>;

    fn make_writer(&'a self) -> Self::Writer {
        StderrLine { bars: self.bars.as_ref() }
    }
}

struct StderrLine<'a> {
    bars: Option<&'a TerminalBars>,
}

impl Write for StderrLine<'_> {
    fn write(&mut self, line: &[u8]) -> std::io::Result<usize> {
        match self.bars {
            Some(bars) => bars.suspend(|| std::io::stderr().write(line)),
            None => std::io::stderr().write(line),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}
