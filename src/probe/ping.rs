//! ICMP echo ("ping") of one IP address: sends a few echo requests over an unprivileged ICMP
//! datagram socket and counts the replies that answer this check, with their round-trip times.
//! Owns the socket, the packets and the matching of replies to requests. It does not resolve
//! names, judge status or store anything, opens no raw socket and needs no root: the kernel must
//! allow ICMP datagram sockets to our group (`net.ipv4.ping_group_range`, which covers IPv6 too).

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::UdpSocket;
use tokio::time::{Instant, sleep_until, timeout_at};

/// Echo requests one check sends at most; a check sends at least one.
pub(crate) use crate::monitor::MAX_PACKETS;

const ICMPV4_ECHO_REPLY: u8 = 0;
const ICMPV4_ECHO_REQUEST: u8 = 8;
const ICMPV6_ECHO_REQUEST: u8 = 128;
const ICMPV6_ECHO_REPLY: u8 = 129;
/// Type, code, checksum, identifier, sequence number.
const HEADER_LEN: usize = 8;
/// Random bytes carried by every request of one check and echoed back by the target. The
/// kernel rewrites the identifier of datagram ICMP sockets, so this is what tells our replies
/// from another check's (and from anything an earlier socket with the same identifier sent).
const TOKEN_LEN: usize = 16;
const PACKET_LEN: usize = HEADER_LEN + TOKEN_LEN;
/// Larger than any reply to our requests; a longer datagram is cut short and is not ours.
const RECEIVE_BUFFER: usize = 256;

type Token = [u8; TOKEN_LEN];

/// Why this machine cannot ping: never the target's failure (that is in a [`PingReport`]).
#[derive(Debug, thiserror::Error)]
pub(crate) enum PingError {
    /// The kernel refuses ICMP datagram sockets to our group.
    #[error(
        "ICMP sockets are not allowed for this process's group; allow them with: \
         sysctl -w net.ipv4.ping_group_range=\"0 2147483647\" \
         (and keep it in /etc/sysctl.d/ to survive a restart)"
    )]
    NotAllowed,
    /// This machine has no ICMP datagram sockets of this family (IPv6 disabled, old kernel).
    #[error("{0}")]
    Unavailable(String),
    /// This machine ran short of its own resources (file descriptors, memory, buffers);
    /// see [`super::is_local_failure`]. Worth trying again later.
    #[error("{0}")]
    Local(String),
}

/// What one ping found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PingReport {
    /// Echo requests sent or tried by the deadline; one the network refused counts as lost.
    pub sent: u8,
    /// Requests answered by the deadline, each counted once however often it was answered.
    pub received: u8,
    /// Round-trip times; `None` when nothing came back.
    pub rtt: Option<RoundTrip>,
    /// Why a request could not be sent or replies could not be read (the first reason), e.g.
    /// "echo request not sent: network unreachable"; `None` when nothing went wrong but loss.
    pub problem: Option<String>,
}

/// Round-trip times of the answered requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RoundTrip {
    pub min: Duration,
    pub avg: Duration,
    pub max: Duration,
}

impl PingReport {
    /// Requests that went unanswered, in percent of those sent; 100 when none was sent.
    pub(crate) fn loss_percent(&self) -> f64 {
        if self.sent == 0 {
            return 100.0;
        }
        f64::from(self.sent.saturating_sub(self.received)) * 100.0 / f64::from(self.sent)
    }
}

/// Whether this machine lets us open the ICMP socket a ping of this family needs, so a ping
/// monitor can be refused up front. Opens and closes one socket; does not block.
pub(crate) fn available(ip_v6: bool) -> Result<(), PingError> {
    open_socket(ip_v6).map(drop)
}

/// Sends `packets` echo requests (clamped to 1..=[`MAX_PACKETS`]) to `target`, `interval`
/// apart, and collects the replies until all came back or `deadline` passes; returns by the
/// deadline. A request not yet sent at the deadline is not sent and not counted.
pub(crate) async fn ping(
    target: IpAddr,
    packets: u8,
    interval: Duration,
    deadline: Instant,
) -> Result<PingReport, PingError> {
    // An IPv4 address written as IPv6 (::ffff:a.b.c.d) is pinged over IPv4, where it lives.
    let target = target.to_canonical();
    let packets = packets.clamp(1, MAX_PACKETS);
    let socket = open_async(target.is_ipv6())?;
    let mut exchange = Exchange::new(target, random_token()?);
    let mut buffer = [0u8; RECEIVE_BUFFER];
    let mut next_send = Instant::now();
    while !exchange.finished(packets) {
        tokio::select! {
            // The deadline wins over everything else, replies over sending the next request.
            biased;
            () = sleep_until(deadline) => break,
            received = socket.recv_from(&mut buffer) => match received {
                Ok((len, from)) => {
                    exchange.on_datagram(from.ip(), &buffer[..len.min(RECEIVE_BUFFER)]);
                }
                Err(e) if super::is_local_failure(&e) => {
                    return Err(PingError::Local(format!("reading ICMP replies: {e}")));
                }
                // Errors are one-shot on these sockets, but a persistent one would spin: stop.
                Err(e) => {
                    exchange.note(format!("replies could not be read: {}", describe(&e)));
                    break;
                }
            },
            () = sleep_until(next_send), if exchange.attempted < packets => {
                exchange.send_next(&socket, deadline).await?;
                next_send += interval;
            }
        }
    }
    Ok(exchange.report())
}

/// The requests of one check and the replies that answered them.
struct Exchange {
    target: IpAddr,
    token: Token,
    /// Requests tried so far; also the sequence number of the next one.
    attempted: u8,
    /// When each request left, by sequence number; `None` until it did (or if it never did).
    sent_at: [Option<Instant>; MAX_PACKETS as usize],
    /// The round-trip time of each answered request, by sequence number.
    answered: [Option<Duration>; MAX_PACKETS as usize],
    problem: Option<String>,
}

impl Exchange {
    fn new(target: IpAddr, token: Token) -> Self {
        Exchange {
            target,
            token,
            attempted: 0,
            sent_at: [None; MAX_PACKETS as usize],
            answered: [None; MAX_PACKETS as usize],
            problem: None,
        }
    }

    /// Every request was tried and every one that left was answered.
    fn finished(&self, packets: u8) -> bool {
        self.attempted >= packets
            && self
                .sent_at
                .iter()
                .zip(&self.answered)
                .all(|(sent, answered)| sent.is_none() || answered.is_some())
    }

    /// Keeps the first problem: later ones usually repeat it.
    fn note(&mut self, problem: String) {
        self.problem.get_or_insert(problem);
    }

    /// Sends the next request; the network refusing it is the target's failure, noted here.
    async fn send_next(&mut self, socket: &UdpSocket, deadline: Instant) -> Result<(), PingError> {
        let sequence = self.attempted;
        self.attempted += 1;
        let packet = echo_request(self.target.is_ipv6(), u16::from(sequence), &self.token);
        let destination = SocketAddr::new(self.target, 0);
        let started = Instant::now();
        match timeout_at(deadline, socket.send_to(&packet, destination)).await {
            Ok(Ok(_)) => {
                if let Some(slot) = self.sent_at.get_mut(usize::from(sequence)) {
                    *slot = Some(started);
                }
            }
            Ok(Err(e)) if super::is_local_failure(&e) => {
                return Err(PingError::Local(format!("sending an echo request: {e}")));
            }
            Ok(Err(e)) => self.note(format!("echo request not sent: {}", describe(&e))),
            // The loop ends at the deadline; this request never left.
            Err(_elapsed) => {}
        }
        Ok(())
    }

    /// Counts a datagram that answers one of our requests, once; ignores anything else.
    fn on_datagram(&mut self, from: IpAddr, datagram: &[u8]) {
        if from.to_canonical() != self.target {
            return;
        }
        let Some(sequence) = parse_reply(self.target.is_ipv6(), datagram, &self.token) else {
            return;
        };
        let index = usize::from(sequence);
        if let (Some(Some(sent)), Some(slot @ None)) =
            (self.sent_at.get(index), self.answered.get_mut(index))
        {
            *slot = Some(sent.elapsed());
        }
    }

    fn report(&self) -> PingReport {
        let rtts: Vec<Duration> = self.answered.iter().flatten().copied().collect();
        let received = u8::try_from(rtts.len()).unwrap_or(u8::MAX);
        let rtt = match (rtts.iter().min(), rtts.iter().max()) {
            (Some(&min), Some(&max)) => Some(RoundTrip {
                min,
                avg: rtts.iter().sum::<Duration>() / u32::from(received.max(1)),
                max,
            }),
            _ => None,
        };
        PingReport {
            sent: self.attempted,
            received,
            rtt,
            problem: self.problem.clone(),
        }
    }
}

/// An echo request. Checksum and identifier stay zero: the kernel fills both in for datagram
/// ICMP sockets.
fn echo_request(v6: bool, sequence: u16, token: &Token) -> [u8; PACKET_LEN] {
    let mut packet = [0u8; PACKET_LEN];
    packet[0] = if v6 {
        ICMPV6_ECHO_REQUEST
    } else {
        ICMPV4_ECHO_REQUEST
    };
    packet[6..HEADER_LEN].copy_from_slice(&sequence.to_be_bytes());
    packet[HEADER_LEN..].copy_from_slice(token);
    packet
}

/// The sequence number of an echo reply that carries exactly our token; `None` for anything
/// else (another check's reply, an error message, a truncated datagram).
fn parse_reply(v6: bool, datagram: &[u8], token: &Token) -> Option<u16> {
    let (header, payload) = datagram.split_first_chunk::<HEADER_LEN>()?;
    let [kind, code, _, _, _, _, high, low] = *header;
    let expected = if v6 {
        ICMPV6_ECHO_REPLY
    } else {
        ICMPV4_ECHO_REPLY
    };
    (kind == expected && code == 0 && payload == token).then(|| u16::from_be_bytes([high, low]))
}

fn random_token() -> Result<Token, PingError> {
    let mut token = [0u8; TOKEN_LEN];
    getrandom::fill(&mut token)
        .map_err(|e| PingError::Local(format!("no randomness available: {e}")))?;
    Ok(token)
}

fn open_socket(v6: bool) -> Result<Socket, PingError> {
    let (domain, protocol) = if v6 {
        (Domain::IPV6, Protocol::ICMPV6)
    } else {
        (Domain::IPV4, Protocol::ICMPV4)
    };
    Socket::new(domain, Type::DGRAM, Some(protocol)).map_err(|e| open_error(&e, v6))
}

/// The socket, registered with tokio's reactor so that waiting for it never blocks a thread.
fn open_async(v6: bool) -> Result<UdpSocket, PingError> {
    let socket = open_socket(v6)?;
    // Datagram ICMP sockets read and write like UDP ones, which tokio drives once non-blocking.
    socket
        .set_nonblocking(true)
        .and_then(|()| UdpSocket::from_std(socket.into()))
        .map_err(|e| open_error(&e, v6))
}

fn open_error(e: &io::Error, v6: bool) -> PingError {
    match e.raw_os_error() {
        Some(libc::EACCES | libc::EPERM) => PingError::NotAllowed,
        Some(libc::EAFNOSUPPORT) if v6 => {
            PingError::Unavailable("IPv6 is not available on this machine".to_owned())
        }
        Some(libc::EAFNOSUPPORT | libc::EPROTONOSUPPORT | libc::ESOCKTNOSUPPORT) => {
            PingError::Unavailable(format!("this system offers no ICMP datagram sockets ({e})"))
        }
        _ if super::is_local_failure(e) => {
            PingError::Local(format!("could not open an ICMP socket: {e}"))
        }
        _ => PingError::Unavailable(format!("could not open an ICMP socket: {e}")),
    }
}

/// A short description of why the network refused a request, for the check's error.
fn describe(e: &io::Error) -> String {
    match e.raw_os_error() {
        Some(libc::ENETUNREACH) => "network unreachable".to_owned(),
        Some(libc::EHOSTUNREACH) => "no route to host".to_owned(),
        Some(libc::EHOSTDOWN) => "host is down".to_owned(),
        // Without SO_BROADCAST the kernel refuses broadcast destinations this way.
        Some(libc::EACCES) => "this is a broadcast address".to_owned(),
        Some(libc::EPERM) => "refused by this machine's firewall".to_owned(),
        Some(libc::EINVAL) => {
            "the kernel refused this destination (a link-local IPv6 address needs an interface)"
                .to_owned()
        }
        Some(libc::EMSGSIZE) => "message too long for the path".to_owned(),
        _ => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    const LOOPBACK_V4: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
    const LOOPBACK_V6: IpAddr = IpAddr::V6(Ipv6Addr::LOCALHOST);

    fn in_seconds(seconds: u64) -> Instant {
        Instant::now() + Duration::from_secs(seconds)
    }

    /// Fails loudly (never skips) when this machine refuses ICMP sockets: see `scripts/test`.
    async fn ping_or_fail(target: IpAddr, packets: u8, deadline: Instant) -> PingReport {
        match ping(target, packets, Duration::from_millis(10), deadline).await {
            Ok(report) => report,
            Err(e) => panic!("pinging {target} failed on this machine: {e}"),
        }
    }

    fn assert_all_answered(report: &PingReport, packets: u8) {
        assert_eq!(report.sent, packets, "{report:?}");
        assert_eq!(report.received, packets, "{report:?}");
        assert_eq!(report.loss_percent(), 0.0, "{report:?}");
        assert_eq!(report.problem, None);
        let rtt = report.rtt.expect("round-trip times of answered requests");
        assert!(rtt.min <= rtt.avg && rtt.avg <= rtt.max, "{rtt:?}");
    }

    #[tokio::test]
    async fn loopback_answers_every_echo_request_over_ipv4() {
        let report = ping_or_fail(LOOPBACK_V4, 3, in_seconds(5)).await;
        assert_all_answered(&report, 3);
    }

    #[tokio::test]
    async fn loopback_answers_every_echo_request_over_ipv6() {
        let report = ping_or_fail(LOOPBACK_V6, 3, in_seconds(5)).await;
        assert_all_answered(&report, 3);
    }

    #[tokio::test]
    async fn an_ipv4_address_written_as_ipv6_is_pinged_over_ipv4() {
        let mapped = IpAddr::V6(Ipv4Addr::LOCALHOST.to_ipv6_mapped());
        let report = ping_or_fail(mapped, 1, in_seconds(5)).await;
        assert_all_answered(&report, 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_pings_of_one_host_each_count_exactly_their_own_replies() {
        let mut pings = tokio::task::JoinSet::new();
        for _ in 0..50 {
            pings.spawn(ping(
                LOOPBACK_V4,
                3,
                Duration::from_millis(10),
                in_seconds(10),
            ));
        }
        let mut finished = 0;
        while let Some(joined) = pings.join_next().await {
            match joined.expect("a ping task ends without panicking") {
                Ok(report) => assert_all_answered(&report, 3),
                Err(e) => panic!("pinging 127.0.0.1 failed on this machine: {e}"),
            }
            finished += 1;
        }
        assert_eq!(finished, 50);
    }

    #[tokio::test]
    async fn a_silent_address_loses_every_request_and_ends_by_the_deadline() {
        // TEST-NET-2 is never assigned. In this sandbox (and on the internet) requests to it
        // vanish; TEST-NET-1's 192.0.2.1 is no good here, it is the sandbox's gateway and
        // answers. A machine without a default route refuses to send at once instead.
        let silent = IpAddr::V4(Ipv4Addr::new(198, 51, 100, 1));
        let started = Instant::now();
        let deadline = started + Duration::from_millis(800);
        let report = ping_or_fail(silent, 3, deadline).await;
        let ended = Instant::now();
        assert_eq!((report.sent, report.received, report.rtt), (3, 0, None));
        assert_eq!(report.loss_percent(), 100.0);
        match report.problem.as_deref() {
            None => assert!(ended >= deadline, "waited for replies until the deadline"),
            Some(problem) => assert!(
                problem.contains("network unreachable") || problem.contains("no route to host"),
                "{problem}"
            ),
        }
        // Generous: the check must stop at the deadline, not a timeout later.
        assert!(
            ended < deadline + Duration::from_millis(300),
            "{:?}",
            ended - started
        );
    }

    #[tokio::test]
    async fn a_refused_destination_is_lost_at_once_and_says_why() {
        // The kernel refuses broadcast destinations to sockets without SO_BROADCAST.
        let broadcast = IpAddr::V4(Ipv4Addr::BROADCAST);
        let deadline = in_seconds(5);
        let report = ping_or_fail(broadcast, 2, deadline).await;
        assert_eq!((report.sent, report.received, report.rtt), (2, 0, None));
        assert_eq!(report.loss_percent(), 100.0);
        assert_eq!(
            report.problem.as_deref(),
            Some("echo request not sent: this is a broadcast address")
        );
        assert!(Instant::now() < deadline - Duration::from_secs(4));
    }

    #[tokio::test]
    async fn a_deadline_already_past_sends_nothing() {
        let report = ping_or_fail(LOOPBACK_V4, 3, Instant::now()).await;
        assert_eq!((report.sent, report.received, report.rtt), (0, 0, None));
        assert_eq!(report.loss_percent(), 100.0);
    }

    #[test]
    fn this_machine_can_ping_over_both_families() {
        for v6 in [false, true] {
            if let Err(e) = available(v6) {
                panic!("ICMP sockets (IPv6: {v6}) are refused on this machine: {e}");
            }
        }
    }

    #[test]
    fn an_echo_request_carries_its_sequence_number_and_the_token() {
        let token = [7u8; TOKEN_LEN];
        let v4 = echo_request(false, 0x0102, &token);
        assert_eq!(v4[..HEADER_LEN], [8, 0, 0, 0, 0, 0, 1, 2]);
        assert_eq!(v4[HEADER_LEN..], token);
        let v6 = echo_request(true, 9, &token);
        assert_eq!(v6[..HEADER_LEN], [128, 0, 0, 0, 0, 0, 0, 9]);
    }

    /// What the target sends back: the request as a reply, with an identifier the kernel chose.
    fn reply_to(v6: bool, sequence: u16, token: &Token) -> Vec<u8> {
        let mut reply = echo_request(v6, sequence, token).to_vec();
        reply[0] = if v6 { 129 } else { 0 };
        reply[2..6].copy_from_slice(&[0xab, 0xcd, 0x12, 0x34]);
        reply
    }

    #[test]
    fn only_an_echo_reply_with_our_token_is_ours() {
        let ours = [1u8; TOKEN_LEN];
        let theirs = [2u8; TOKEN_LEN];
        for v6 in [false, true] {
            assert_eq!(parse_reply(v6, &reply_to(v6, 513, &ours), &ours), Some(513));
            assert_eq!(parse_reply(v6, &reply_to(v6, 513, &theirs), &ours), None);
            // The request itself (as seen on loopback by a raw socket), or the other family's.
            assert_eq!(parse_reply(v6, &echo_request(v6, 1, &ours), &ours), None);
            assert_eq!(parse_reply(!v6, &reply_to(v6, 1, &ours), &ours), None);
            let mut other_code = reply_to(v6, 1, &ours);
            other_code[1] = 1;
            assert_eq!(parse_reply(v6, &other_code, &ours), None);
            let whole = reply_to(v6, 1, &ours);
            for cut in 0..whole.len() {
                assert_eq!(parse_reply(v6, &whole[..cut], &ours), None, "{cut} bytes");
            }
            let mut longer = whole.clone();
            longer.push(0);
            assert_eq!(parse_reply(v6, &longer, &ours), None);
        }
    }

    #[test]
    fn duplicate_and_foreign_replies_count_once_or_not_at_all() {
        let token = [3u8; TOKEN_LEN];
        let mut exchange = Exchange::new(LOOPBACK_V4, token);
        exchange.attempted = 3;
        exchange.sent_at[0] = Some(Instant::now());
        exchange.sent_at[1] = Some(Instant::now());
        exchange.on_datagram(LOOPBACK_V4, &reply_to(false, 0, &token));
        exchange.on_datagram(LOOPBACK_V4, &reply_to(false, 0, &token));
        // From another host, for a request never sent, beyond the last one: not ours.
        exchange.on_datagram(
            IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2)),
            &reply_to(false, 1, &token),
        );
        exchange.on_datagram(LOOPBACK_V4, &reply_to(false, 2, &token));
        exchange.on_datagram(LOOPBACK_V4, &reply_to(false, 200, &token));
        let report = exchange.report();
        assert_eq!((report.sent, report.received), (3, 1));
        assert!(!exchange.finished(3), "request 1 is still awaited");
        exchange.on_datagram(LOOPBACK_V4, &reply_to(false, 1, &token));
        assert!(
            exchange.finished(3),
            "request 2 never left, so is not awaited"
        );
        assert!((exchange.report().loss_percent() - 100.0 / 3.0).abs() < 1e-9);
    }

    #[test]
    fn a_refused_icmp_socket_tells_the_operator_what_to_run() {
        for code in [libc::EACCES, libc::EPERM] {
            let e = open_error(&io::Error::from_raw_os_error(code), false);
            assert!(matches!(e, PingError::NotAllowed), "{e:?}");
            let message = e.to_string();
            assert!(
                message.contains(r#"sysctl -w net.ipv4.ping_group_range="0 2147483647""#),
                "{message}"
            );
        }
    }

    #[test]
    fn running_out_of_descriptors_is_a_local_failure_not_a_refusal() {
        for code in [libc::EMFILE, libc::ENFILE, libc::ENOBUFS, libc::ENOMEM] {
            let e = open_error(&io::Error::from_raw_os_error(code), false);
            assert!(matches!(e, PingError::Local(_)), "{code}: {e:?}");
        }
        let no_ipv6 = open_error(&io::Error::from_raw_os_error(libc::EAFNOSUPPORT), true);
        assert!(matches!(no_ipv6, PingError::Unavailable(_)), "{no_ipv6:?}");
    }

    #[test]
    fn unreachable_networks_are_described_briefly() {
        let said = |code| describe(&io::Error::from_raw_os_error(code));
        assert_eq!(said(libc::ENETUNREACH), "network unreachable");
        assert_eq!(said(libc::EHOSTUNREACH), "no route to host");
    }
}
