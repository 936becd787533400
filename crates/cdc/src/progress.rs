//! Progress bars on the terminal (indicatif): snapshots and `cdc db init` when stdout is a terminal and logs
//! are text. Pipes, files, CI and `--log-format json` get no bars — their readers want lines, not redraws.
//!
//! Log lines go to stderr, which is usually the same terminal: [`TerminalBars::suspend`] lets the logger clear
//! the bars, write, and redraw them, so a log line never lands in the middle of a bar.

use std::io::IsTerminal;
use std::sync::Arc;

use cdc_core::progress::{Bar, Display, Unit};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::cli::LogFormat;

/// The bars of this process; cheap to clone.
#[derive(Clone)]
pub struct TerminalBars {
    multi: MultiProgress,
}

impl TerminalBars {
    /// Bars for this process, or `None` when they would not be seen by a person. (On a terminal with `TERM`
    /// unset or `dumb`, indicatif draws nothing either.)
    pub fn for_terminal(log_format: LogFormat) -> Option<TerminalBars> {
        let wanted = log_format == LogFormat::Text && std::io::stdout().is_terminal();
        wanted.then(|| TerminalBars { multi: MultiProgress::with_draw_target(ProgressDrawTarget::stdout()) })
    }

    /// Makes them the display of every [`cdc_core::progress::Task`].
    pub fn install(&self) {
        cdc_core::progress::install(Arc::new(self.clone()));
    }

    /// Runs `write` with the bars cleared from the screen, then redraws them.
    pub fn suspend<R>(&self, write: impl FnOnce() -> R) -> R {
        self.multi.suspend(write)
    }
}

impl Display for TerminalBars {
    fn start(&self, label: &str, total: Option<u64>, unit: Unit) -> Box<dyn Bar> {
        let unit = match unit {
            Unit::Rows => "rows {rate}",
            Unit::Steps => "{msg}",
        };
        let template = match total {
            Some(_) => format!("{{prefix:<32}} [{{bar:30}}] {{pos}}/{{len}} {unit} {{elapsed}}"),
            None => format!("{{prefix:<32}} {{spinner}} {{pos}} {unit} {{elapsed}}"),
        };
        let style = ProgressStyle::with_template(&template)
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .with_key("rate", |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                let _ = write!(w, "{:.0}/s", state.per_sec());
            })
            .progress_chars("=> ")
            .tick_chars("⠁⠂⠄⡀⢀⠠⠐⠈✓");
        let bar = match total {
            Some(total) => ProgressBar::new(total),
            None => ProgressBar::new_spinner(),
        };
        let bar = self.multi.add(bar.with_style(style).with_prefix(label.to_owned()));
        bar.tick();
        Box::new(TerminalBar(bar))
    }
}

struct TerminalBar(ProgressBar);

impl Bar for TerminalBar {
    fn advance(&mut self, by: u64) {
        self.0.inc(by);
    }

    fn describe(&mut self, what: &str) {
        self.0.set_message(what.to_owned());
    }

    fn finish(&mut self) {
        // The planner's row estimate is only an estimate: the finished bar shows what was really copied.
        self.0.set_length(self.0.position());
        self.0.set_message("done");
        self.0.finish();
    }

    fn abandon(&mut self) {
        self.0.finish_and_clear();
    }
}
