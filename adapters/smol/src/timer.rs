//! The connections' timers, kept off async-io's reactor: one thread of
//! this crate's own sleeps until the earliest deadline of every timer the
//! driver holds and wakes the tasks whose deadline passed.
//!
//! Why: async-io's reactor splits its timer map (`BTreeMap::split_off`,
//! nodes allocated and freed) on every turn while it holds any timer, so
//! one timer per connection cost each turn about a thousand instructions
//! (the turns of a busy server come once every few requests) for
//! deadlines that almost never fire: every connection's idle deadline is
//! minutes away, and the driver moves its timer only to an earlier one.
//! Here a turn of the reactor costs nothing for them, and a timer costs
//! a lock only when it is set, moved or dropped.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::task::{Context, Poll, Waker};
use std::thread::Thread;
use std::time::Instant;

/// What the timer thread and the timers share.
struct Shared {
    /// The registered deadlines (with an id, so two may be equal), each
    /// with the waker to wake when it passes.
    timers: Mutex<Timers>,
    /// The timer thread, unparked when a deadline earlier than every
    /// other is registered.
    thread: OnceLock<Thread>,
}

#[derive(Default)]
struct Timers {
    map: BTreeMap<(Instant, u64), Waker>,
    next_id: u64,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Timers> {
        // A waker that panicked while the lock was held leaves the map
        // as it was: keep using it.
        self.timers.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The timer thread's state, started with the first timer; `None` when
/// the thread could not be started (timers are then async-io's).
fn shared() -> Option<&'static Arc<Shared>> {
    static SHARED: OnceLock<Option<Arc<Shared>>> = OnceLock::new();
    SHARED
        .get_or_init(|| {
            let shared = Arc::new(Shared {
                timers: Mutex::default(),
                thread: OnceLock::new(),
            });
            let run = shared.clone();
            let handle = std::thread::Builder::new()
                .name("sansrpc-smol-timers".into())
                .spawn(move || fire(&run))
                .ok()?;
            let _ = shared.thread.set(handle.thread().clone());
            Some(shared)
        })
        .as_ref()
}

/// The timer thread: wakes every timer whose deadline passed, then sleeps
/// until the next deadline (or until one earlier is registered).
fn fire(shared: &Shared) {
    loop {
        let mut due = Vec::new();
        let next = {
            let mut timers = shared.lock();
            let now = Instant::now();
            while let Some(entry) = timers.map.first_entry() {
                if entry.key().0 > now {
                    break;
                }
                due.push(entry.remove());
            }
            timers.map.keys().next().map(|&(at, _)| at)
        };
        due.into_iter().for_each(Waker::wake);
        // An unpark since the lock was released (an earlier deadline
        // registered) makes this return at once.
        match next {
            Some(at) => std::thread::park_timeout(at.saturating_duration_since(Instant::now())),
            None => std::thread::park(),
        }
    }
}

/// A timer on the timer thread: registered while it is pending and has
/// been polled (or reset after a poll), with the waker of its last poll.
pub(crate) struct ThreadTimer {
    shared: &'static Arc<Shared>,
    at: Instant,
    /// Its key in the map and a copy of the waker registered under it.
    registered: Option<((Instant, u64), Waker)>,
}

impl std::fmt::Debug for ThreadTimer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ThreadTimer")
            .field("at", &self.at)
            .field("registered", &self.registered.is_some())
            .finish()
    }
}

impl ThreadTimer {
    /// A timer that fires at `at`, if the timer thread runs.
    pub(crate) fn at(at: Instant) -> Option<Self> {
        Some(Self {
            shared: shared()?,
            at,
            registered: None,
        })
    }

    /// Registers the deadline with `waker`, in place of any earlier
    /// registration.
    fn register(&mut self, waker: &Waker) {
        let mut timers = self.shared.lock();
        if let Some((key, _)) = self.registered.take() {
            timers.map.remove(&key);
        }
        let key = (self.at, timers.next_id);
        timers.next_id = timers.next_id.wrapping_add(1);
        timers.map.insert(key, waker.clone());
        let first = timers.map.keys().next() == Some(&key);
        drop(timers);
        self.registered = Some((key, waker.clone()));
        if first {
            if let Some(thread) = self.shared.thread.get() {
                thread.unpark();
            }
        }
    }

    fn unregister(&mut self) {
        if let Some((key, _)) = self.registered.take() {
            self.shared.lock().map.remove(&key);
        }
    }

    /// Moves the deadline to `at` (a registered timer stays registered,
    /// with the same waker).
    pub(crate) fn reset(&mut self, at: Instant) {
        self.at = at;
        if let Some((key, waker)) = &self.registered {
            if key.0 != at {
                let waker = waker.clone();
                self.register(&waker);
            }
        }
    }

    /// Ready once the deadline passed; else registered with `cx`'s waker.
    pub(crate) fn poll(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if Instant::now() >= self.at {
            self.unregister();
            return Poll::Ready(());
        }
        let current = self
            .registered
            .as_ref()
            .is_some_and(|(key, waker)| key.0 == self.at && waker.will_wake(cx.waker()));
        if !current {
            self.register(cx.waker());
        }
        Poll::Pending
    }
}

impl Drop for ThreadTimer {
    fn drop(&mut self) {
        self.unregister();
    }
}

#[cfg(test)]
mod tests {
    use super::ThreadTimer;
    use std::time::{Duration, Instant};

    #[test]
    fn fires_at_its_deadline_after_being_moved_earlier_and_later() {
        smol::block_on(async {
            let start = Instant::now();
            let mut t = ThreadTimer::at(start + Duration::from_secs(30)).expect("timer thread");
            // Pending, registered; then moved earlier while registered.
            assert!(
                futures_lite::future::poll_once(std::future::poll_fn(|cx| t.poll(cx)))
                    .await
                    .is_none()
            );
            t.reset(start + Duration::from_millis(50));
            std::future::poll_fn(|cx| t.poll(cx)).await;
            assert!(start.elapsed() >= Duration::from_millis(50));
            assert!(start.elapsed() < Duration::from_secs(10));
            // Fired timers can be set again, later.
            t.reset(Instant::now() + Duration::from_millis(20));
            let before = Instant::now();
            std::future::poll_fn(|cx| t.poll(cx)).await;
            assert!(before.elapsed() >= Duration::from_millis(19));
        });
    }

    #[test]
    fn a_dropped_timer_leaves_the_others_firing_in_order() {
        smol::block_on(async {
            let start = Instant::now();
            let a = ThreadTimer::at(start + Duration::from_millis(10)).expect("timer thread");
            let mut b = ThreadTimer::at(start + Duration::from_millis(40)).expect("timer thread");
            let mut a = Some(a);
            let mut key = None;
            if let Some(a) = a.as_mut() {
                assert!(
                    futures_lite::future::poll_once(std::future::poll_fn(|cx| a.poll(cx)))
                        .await
                        .is_none()
                );
                key = a.registered.as_ref().map(|(key, _)| *key);
            }
            let key = key.expect("registered by its poll");
            assert!(
                super::shared()
                    .expect("timer thread")
                    .lock()
                    .map
                    .contains_key(&key)
            );
            drop(a);
            assert!(
                !super::shared()
                    .expect("timer thread")
                    .lock()
                    .map
                    .contains_key(&key)
            );
            std::future::poll_fn(|cx| b.poll(cx)).await;
            assert!(start.elapsed() >= Duration::from_millis(40));
        });
    }
}
