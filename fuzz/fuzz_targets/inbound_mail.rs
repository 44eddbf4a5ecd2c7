//! Raw RFC 822 mail as the mail server pipes it to `samordna ingest-mail` (src/sip/inbound.rs):
//! the calendar part is found, then read as a reply, as `ingest` does before touching the database.
//!
//! `calendar_in` deliberately catches a panic inside mail-parser 0.11 (`catch_unwind`) and reads
//! such a message as not mail. libfuzzer-sys's panic hook would abort on that caught panic, so this
//! target installs its own hook that only remembers the message: a panic that gets out of
//! `calendar_in` or `parse_reply` is still a crash, with the message printed.
#![no_main]

use std::cell::RefCell;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;

use libfuzzer_sys::fuzz_target;
use samordna::calendar::reply::parse_reply;
use samordna::sip::inbound::calendar_in;

thread_local! {
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

fn remember_panics() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        panic::set_hook(Box::new(|info| {
            let text = info.to_string();
            LAST_PANIC.with(|p| *p.borrow_mut() = Some(text));
        }));
    });
}

fuzz_target!(|data: &[u8]| {
    remember_panics();
    let outcome = panic::catch_unwind(AssertUnwindSafe(|| {
        if let Ok(calendar) = calendar_in(data) {
            let _ = parse_reply(&calendar);
        }
    }));
    if outcome.is_err() {
        let message = LAST_PANIC.with(|p| p.borrow_mut().take()).unwrap_or_default();
        eprintln!("panic escaped calendar_in/parse_reply: {message}");
        std::process::abort();
    }
    LAST_PANIC.with(|p| p.borrow_mut().take());
});
