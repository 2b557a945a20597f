//! What workers tell the recorder, and the live view it publishes back.
//!
//! Kept apart from the recorder so the workers' side of the channel is plain
//! data: events are small and `Copy`-sized (an error, the rare big one, is
//! boxed) because a participant sends one per message.

use crate::results::{ErrorKind, Step, Worker};

/// Which latency an event reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Latency {
    /// TCP connect + WebSocket upgrade.
    Handshake,
    /// `POST /auth/sign-up`.
    SignUp,
    /// `POST /chat-requests`.
    ChatRequest,
}

/// What a worker tells the recorder. Times are µs since the run started.
#[derive(Debug)]
pub enum Event {
    /// A participant worker was created.
    ParticipantCreated { t_us: u64 },
    /// A participant sent message `seq`; `late_us` is how late its tick fired.
    Sent {
        t_us: u64,
        participant: u32,
        seq: u32,
        late_us: u64,
    },
    /// An organizer sent `start_chat`; `late_us` as above.
    StartChatSent { late_us: u64 },
    /// The participant spawner ticked `late_us` late.
    SpawnTick { late_us: u64 },
    /// An organizer received a participant's message.
    Delivered {
        t_us: u64,
        participant: u32,
        seq: u32,
        /// When it was sent, by the sending runner's clock.
        sent_us: u64,
    },
    /// An organizer received `new_chat`.
    ChatStarted { t_us: u64 },
    /// An organizer answered a participant message.
    ReplySent { t_us: u64 },
    /// A participant received the answer to its message, `latency_us` after sending it.
    ReplyReceived { latency_us: u64 },
    /// A WebSocket was opened (+1) or closed (-1).
    Connection { t_us: u64, delta: i8 },
    /// A REST call or handshake took `us`.
    Latency { kind: Latency, us: u64 },
    /// A worker reached a stage of the scenario.
    Stage { t_us: u64, stage: Stage },
    /// Something failed.
    Error(Box<ErrorEvent>),
}

/// A stage of the scenario a worker reached (each counted once per worker).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// An organizer's sign-in succeeded.
    OrganizerSignedIn,
    /// An organizer's WebSocket answered a frame (so it is authorized).
    OrganizerConnected,
    /// A participant's sign-up succeeded.
    SignedUp,
    /// A participant's chat request succeeded.
    ChatRequested,
    /// A participant's WebSocket answered a frame (so it is authorized).
    Connected,
    /// A participant has its chat.
    Chatting,
}

/// An error as a worker saw it.
#[derive(Debug)]
pub struct ErrorEvent {
    /// µs since the run started.
    pub t_us: u64,
    /// Classification.
    pub kind: ErrorKind,
    /// The scenario step that failed.
    pub step: Step,
    /// The HTTP status of a REST call that answered with an unexpected one.
    pub http_status: Option<u16>,
    /// Which worker, e.g. `participant 17`.
    pub worker: Worker,
    /// What happened.
    pub message: String,
}

/// A live view of the run for progress output.
#[derive(Debug, Clone, Default)]
pub struct Progress {
    /// Seconds since start.
    pub elapsed_s: u64,
    /// Participants created.
    pub participants: u64,
    /// Chats started.
    pub chats: u64,
    /// Messages sent, total.
    pub sent: u64,
    /// Messages delivered, total.
    pub delivered: u64,
    /// Sent in the last complete second.
    pub sent_per_s: u64,
    /// Delivered in the last complete second.
    pub delivered_per_s: u64,
    /// Organizer replies in the last complete second.
    pub replies_per_s: u64,
    /// Errors so far.
    pub errors: u64,
    /// Open WebSockets.
    pub open_connections: u64,
    /// The last completed seconds of the timeline (a few, oldest first), as
    /// the result file will have them: what the run's journal appends.
    pub seconds: Vec<crate::results::Second>,
}
