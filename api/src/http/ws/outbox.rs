//! What a connection sends: two bounded queues (the operations' results, and the
//! connection's own control messages), a writer task that drains them into the socket, and
//! the close request that ends it all.
//!
//! An operation waits for room in the results queue, so a burst (a subscription replaying
//! thousands of events) is paced by the socket instead of piling up; but it waits at most
//! `IUC_WS_SEND_TIMEOUT`: a queue that stays full that long means the client does not read
//! what it asked for, and the connection is closed (1013, retryable) instead of buffering
//! without end. The connection loop never waits (it must keep reading): its control messages
//! (`connection_ack`, `pong`, `ping`, refusals) go into a small queue of their own, and a
//! client that lets even that fill up is closed the same way. Memory per connection is bounded
//! by the two queues and one waiting message per operation. Writing the close frame is bounded
//! too: a client that reads nothing cannot hold the writer (and its socket) past the close
//! timeout.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message};
use futures_util::{Sink, SinkExt};
use tokio::sync::mpsc::error::{SendTimeoutError, TrySendError};
use tokio::sync::{mpsc, watch};

use super::protocol::{Close, code};

/// Control messages waiting to be sent (a client sending pings without reading the pongs
/// fills it).
const CONTROL_QUEUE: usize = 16;

/// The close request of one connection: set once (the first reason wins), watched by the
/// connection loop and the writer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ending {
    /// Send this close frame, then end.
    Close(Close),
    /// End without a frame of ours: the client closed, or the socket failed.
    Silently,
}

/// The sending side of a connection, cloned into every operation's task.
#[derive(Clone)]
pub struct Outbox {
    results: mpsc::Sender<Message>,
    control: mpsc::Sender<Message>,
    /// How long an operation waits for room in `results`.
    send_timeout: Duration,
    ending: Arc<watch::Sender<Option<Ending>>>,
}

/// The receiving side, for the writer.
pub struct Queues {
    results: mpsc::Receiver<Message>,
    control: mpsc::Receiver<Message>,
    ended: watch::Receiver<Option<Ending>>,
}

/// The reason of the slow-consumer close.
pub const SLOW_CONSUMER: Close = Close::new(
    code::TRY_AGAIN_LATER,
    "the client does not read its messages fast enough; reconnect and resume",
);

impl Outbox {
    /// An outbox whose results queue holds `capacity` messages, each waiting at most
    /// `send_timeout` for room; and the queues for the writer.
    pub fn new(capacity: usize, send_timeout: Duration) -> (Self, Queues) {
        let (results, results_rx) = mpsc::channel(capacity.max(1));
        let (control, control_rx) = mpsc::channel(CONTROL_QUEUE);
        let (ending, ended) = watch::channel(None);
        (
            Self {
                results,
                control,
                send_timeout,
                ending: Arc::new(ending),
            },
            Queues {
                results: results_rx,
                control: control_rx,
                ended,
            },
        )
    }

    /// Queues an operation's message, waiting for room; false when it cannot be (the
    /// connection is ending, or the queue stayed full for the send timeout, which ends the
    /// connection as a slow consumer).
    pub async fn send(&self, text: String) -> bool {
        if self.is_ending() {
            return false;
        }
        let message = Message::Text(text.into());
        match self.results.send_timeout(message, self.send_timeout).await {
            Ok(()) => true,
            Err(SendTimeoutError::Timeout(_)) => {
                self.slow();
                false
            }
            Err(SendTimeoutError::Closed(_)) => false,
        }
    }

    /// Queues a control message of the connection loop, which never waits; false when it
    /// cannot be (ending, or the control queue is full: a slow consumer).
    pub fn control(&self, text: String) -> bool {
        if self.is_ending() {
            return false;
        }
        match self.control.try_send(Message::Text(text.into())) {
            Ok(()) => true,
            Err(TrySendError::Full(_)) => {
                self.slow();
                false
            }
            Err(TrySendError::Closed(_)) => false,
        }
    }

    fn slow(&self) {
        tracing::info!("closing a WebSocket connection whose client does not read");
        self.end(Ending::Close(SLOW_CONSUMER));
    }

    /// Asks the connection to end (the first request wins).
    pub fn end(&self, ending: Ending) {
        self.ending.send_if_modified(|current| {
            if current.is_some() {
                return false;
            }
            *current = Some(ending);
            true
        });
    }

    pub fn is_ending(&self) -> bool {
        self.ending.borrow().is_some()
    }

    /// Watches for the end (for the connection loop).
    pub fn subscribe(&self) -> watch::Receiver<Option<Ending>> {
        self.ending.subscribe()
    }
}

/// Writes the queued messages to `sink` (control messages first) until the connection ends,
/// then the close frame; the close (and whatever must be flushed before it) gets
/// `close_timeout` at most.
///
/// A message being written when the end comes is abandoned mid-way: the sink (tungstenite)
/// keeps a message it has accepted whole in its buffer, so the close frame still follows a
/// complete frame.
pub async fn write<S>(mut sink: S, queues: Queues, close_timeout: Duration)
where
    S: Sink<Message> + Unpin,
{
    let Queues {
        mut results,
        mut control,
        mut ended,
    } = queues;
    loop {
        let message = tokio::select! {
            biased;
            _ = ended.changed() => break,
            Some(message) = control.recv() => message,
            Some(message) = results.recv() => message,
            else => break,
        };
        tokio::select! {
            biased;
            _ = ended.changed() => break,
            sent = sink.send(message) => if sent.is_err() { return },
        }
    }
    let ending = ended.borrow().clone();
    let frame = match ending {
        Some(Ending::Close(close)) => Some(CloseFrame {
            code: close.code,
            reason: close.reason.into_owned().into(),
        }),
        Some(Ending::Silently) | None => None,
    };
    let closing = async {
        if let Some(frame) = frame {
            let _ = sink.send(Message::Close(Some(frame))).await;
        }
        let _ = sink.close().await;
    };
    if tokio::time::timeout(close_timeout, closing).await.is_err() {
        tracing::debug!("a WebSocket client did not take its close frame in time");
    }
}

#[cfg(test)]
mod tests {
    use std::pin::Pin;
    use std::sync::Mutex;
    use std::task::{Context, Poll};

    use super::*;

    /// A sink that takes `room` messages and then never again (a client that stopped reading),
    /// recording what it took.
    #[derive(Clone, Default)]
    struct Stuck {
        room: usize,
        taken: Arc<Mutex<Vec<Message>>>,
    }

    impl Sink<Message> for Stuck {
        type Error = ();
        fn poll_ready(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), ()>> {
            if self.taken.lock().unwrap().len() < self.room {
                Poll::Ready(Ok(()))
            } else {
                Poll::Pending
            }
        }
        fn start_send(self: Pin<&mut Self>, item: Message) -> Result<(), ()> {
            self.taken.lock().unwrap().push(item);
            Ok(())
        }
        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), ()>> {
            Poll::Ready(Ok(()))
        }
        fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), ()>> {
            Poll::Ready(Ok(()))
        }
    }

    #[tokio::test]
    async fn a_burst_waits_for_the_socket_and_a_client_that_does_not_read_is_closed_in_time() {
        let (outbox, queues) = Outbox::new(4, Duration::from_millis(200));
        // A client that reads: a burst far beyond the queue goes through, paced by the socket.
        let reading = Stuck {
            room: 1000,
            taken: Arc::default(),
        };
        let writer = tokio::spawn(write(reading.clone(), queues, Duration::from_millis(100)));
        for i in 0..100 {
            assert!(outbox.send(format!("m{i}")).await, "m{i}");
        }
        assert!(outbox.control("c".into()));
        for _ in 0..100 {
            if reading.taken.lock().unwrap().len() == 101 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(reading.taken.lock().unwrap().len(), 101);
        outbox.end(Ending::Silently);
        writer.await.unwrap();

        // A client that stops reading after two messages.
        let (outbox, queues) = Outbox::new(4, Duration::from_millis(200));
        let stuck = Stuck {
            room: 2,
            taken: Arc::default(),
        };
        let writer = tokio::spawn(write(stuck.clone(), queues, Duration::from_millis(100)));
        let started = tokio::time::Instant::now();
        let mut sent = 0;
        while outbox.send(format!("m{sent}")).await {
            sent += 1;
            assert!(sent < 100, "the queue must fill");
        }
        // Two went to the socket, one is held by the stuck write, four waited in the queue;
        // the next waited for the send timeout.
        assert_eq!(sent, 7);
        assert!(started.elapsed() >= Duration::from_millis(200));
        assert_eq!(
            *outbox.subscribe().borrow(),
            Some(Ending::Close(SLOW_CONSUMER))
        );
        assert!(
            !outbox.send("late".into()).await,
            "nothing is queued once ending"
        );
        assert!(!outbox.control("late".into()));
        tokio::time::timeout(Duration::from_secs(2), writer)
            .await
            .expect("the writer ends within the close timeout")
            .unwrap();
        assert_eq!(stuck.taken.lock().unwrap().len(), 2);
    }

    #[tokio::test]
    async fn a_full_control_queue_closes_at_once() {
        let (outbox, _queues) = Outbox::new(4, Duration::from_secs(60));
        for _ in 0..CONTROL_QUEUE {
            assert!(outbox.control("pong".into()));
        }
        assert!(!outbox.control("pong".into()));
        assert_eq!(
            *outbox.subscribe().borrow(),
            Some(Ending::Close(SLOW_CONSUMER))
        );
    }

    #[tokio::test]
    async fn the_close_frame_follows_the_messages_and_the_first_reason_wins() {
        let (outbox, queues) = Outbox::new(8, Duration::from_secs(1));
        let sink = Stuck {
            room: 100,
            taken: Arc::default(),
        };
        let writer = tokio::spawn(write(sink.clone(), queues, Duration::from_secs(1)));
        assert!(outbox.send("a".into()).await);
        tokio::time::sleep(Duration::from_millis(50)).await;
        outbox.end(Ending::Close(Close::new(4409, "first")));
        outbox.end(Ending::Close(Close::new(4400, "second")));
        writer.await.unwrap();
        let taken = sink.taken.lock().unwrap();
        assert_eq!(taken[0], Message::Text("a".into()));
        let Message::Close(Some(frame)) = &taken[1] else {
            panic!("{taken:?}")
        };
        assert_eq!((frame.code, frame.reason.as_str()), (4409, "first"));
    }
}
