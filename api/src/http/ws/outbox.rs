//! What a connection sends: a bounded queue of messages, a writer task that drains it into the
//! socket, and the close request that ends both.
//!
//! Producers (the connection loop, each operation's task) never wait for the client: they
//! `try_send` into the queue. A full queue means the client does not read what it asked for,
//! so the connection is closed (1013, retryable) instead of buffering without end: memory per
//! connection is bounded by the queue's length. Writing the close frame is bounded too: a
//! client that reads nothing cannot hold the writer (and its socket) past the close timeout.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message};
use futures_util::{Sink, SinkExt};
use tokio::sync::{mpsc, watch};

use super::protocol::{Close, code};

/// The close request of one connection: set once (the first reason wins), watched by the
/// connection loop and the writer. `None` inside `Some` would be meaningless, so a request to
/// end without a close frame (the peer is gone) is `Ending::Silently`.
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
    queue: mpsc::Sender<Message>,
    ending: Arc<watch::Sender<Option<Ending>>>,
}

/// The reason of the slow-consumer close.
pub const SLOW_CONSUMER: Close = Close::new(
    code::TRY_AGAIN_LATER,
    "the client does not read its messages fast enough; reconnect and resume",
);

impl Outbox {
    /// An outbox with room for `capacity` messages, and the receiving ends for the writer.
    pub fn new(
        capacity: usize,
    ) -> (
        Self,
        mpsc::Receiver<Message>,
        watch::Receiver<Option<Ending>>,
    ) {
        let (queue, messages) = mpsc::channel(capacity.max(1));
        let (ending, ended) = watch::channel(None);
        (
            Self {
                queue,
                ending: Arc::new(ending),
            },
            messages,
            ended,
        )
    }

    /// Queues a text message; false when it cannot be (the connection is ending, or the queue
    /// is full, which ends the connection as a slow consumer).
    pub fn send(&self, text: String) -> bool {
        if self.is_ending() {
            return false;
        }
        match self.queue.try_send(Message::Text(text.into())) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                tracing::info!("closing a WebSocket connection whose client does not read");
                self.end(Ending::Close(SLOW_CONSUMER));
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
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

/// Writes the queued messages to `sink` until the connection ends, then the close frame; the
/// close (and whatever must be flushed before it) gets `close_timeout` at most.
///
/// A message being written when the end comes is abandoned mid-way: the sink (tungstenite)
/// keeps a message it has accepted whole in its buffer, so the close frame still follows a
/// complete frame.
pub async fn write<S>(
    mut sink: S,
    mut messages: mpsc::Receiver<Message>,
    mut ended: watch::Receiver<Option<Ending>>,
    close_timeout: Duration,
) where
    S: Sink<Message> + Unpin,
{
    loop {
        let message = tokio::select! {
            biased;
            _ = ended.changed() => break,
            message = messages.recv() => match message {
                Some(message) => message,
                None => break,
            },
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
    async fn a_client_that_does_not_read_is_closed_and_the_writer_ends_in_time() {
        let (outbox, messages, ended) = Outbox::new(4);
        let sink = Stuck {
            room: 2,
            taken: Arc::default(),
        };
        let writer = tokio::spawn(write(
            sink.clone(),
            messages,
            ended,
            Duration::from_millis(100),
        ));
        let mut sent = 0;
        while outbox.send(format!("m{sent}")) {
            sent += 1;
            tokio::task::yield_now().await;
            assert!(sent < 100, "the queue must fill");
        }
        // Two went to the socket, one is held by the stuck write, four waited in the queue.
        assert!((4..=7).contains(&sent), "{sent}");
        assert_eq!(
            *outbox.subscribe().borrow(),
            Some(Ending::Close(SLOW_CONSUMER))
        );
        assert!(!outbox.send("late".into()), "nothing is queued once ending");
        tokio::time::timeout(Duration::from_secs(2), writer)
            .await
            .expect("the writer ends within the close timeout")
            .unwrap();
        assert_eq!(sink.taken.lock().unwrap().len(), 2);
    }

    #[tokio::test]
    async fn the_close_frame_follows_the_messages_and_the_first_reason_wins() {
        let (outbox, messages, ended) = Outbox::new(8);
        let sink = Stuck {
            room: 100,
            taken: Arc::default(),
        };
        let writer = tokio::spawn(write(sink.clone(), messages, ended, Duration::from_secs(1)));
        assert!(outbox.send("a".into()));
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
