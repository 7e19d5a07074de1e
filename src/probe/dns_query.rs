//! Asks one DNS server one question, as a `dns` monitor's check does: afresh every time (no
//! cache, so a changed record shows at the next check), over UDP with TCP when the reply was cut
//! short, within the check's timeout. Returns the response code and the answers written as
//! people write them. It does not judge them (that is the conditions'), does not follow
//! referrals or try other servers, and remembers nothing but the system's nameserver.

use super::{CheckError, ErrorKind, Failure};
use crate::monitor::{DEFAULT_DNS_PORT, RecordType, format_duration, parse_dns_name};
use hickory_proto::op::{Edns, Message, MessageType, Query, ResponseCode};
use hickory_proto::rr::{Name, RData, RecordType as WireType};
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::sync::OnceCell;
use tokio::time::{Instant, timeout_at};

/// The largest UDP reply we ask servers for: the size DNS Flag Day 2020 settled on, which
/// crosses common links unfragmented. A larger answer is truncated and asked for over TCP.
const UDP_PAYLOAD: u16 = 1232;

/// What the server said: its response code and the records of the asked type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DnsAnswer {
    /// `NOERROR`, `NXDOMAIN`, `SERVFAIL`, `REFUSED`…, as `dig` shows them.
    pub rcode: String,
    /// One entry per record, written as in a zone file without the trailing dot: an address,
    /// a name, `10 mail.example.com`, a TXT record's strings joined, or an SOA's seven fields.
    pub answers: Vec<String>,
}

/// Asks DNS questions. Create one and share it: it reads the system's nameserver once.
pub struct DnsQuerier {
    resolv_conf: PathBuf,
    /// Only a successful read is kept, so a missing file is looked for again at the next check.
    system: OnceCell<SocketAddr>,
}

impl Default for DnsQuerier {
    fn default() -> Self {
        Self::reading(PathBuf::from("/etc/resolv.conf"))
    }
}

impl DnsQuerier {
    pub fn new() -> Self {
        Self::default()
    }

    fn reading(resolv_conf: PathBuf) -> Self {
        DnsQuerier {
            resolv_conf,
            system: OnceCell::new(),
        }
    }

    /// Asks `server` (the system's first nameserver when `None`) for the `rtype` records of
    /// `name`. Every response code is an answer; the errors are: an invalid name, no server,
    /// an unreachable server, a malformed reply and no reply within `timeout` (kind `timeout`).
    pub async fn query(
        &self,
        server: Option<SocketAddr>,
        name: &str,
        rtype: RecordType,
        timeout: Duration,
    ) -> Result<DnsAnswer, Failure> {
        let deadline = Instant::now() + timeout;
        let qname =
            parse_dns_name(name).map_err(|e| CheckError::new(ErrorKind::Dns, e.to_string()))?;
        let question = Query::query(qname, wire(rtype));
        let too_late = |from: String| {
            let waited = format_duration(timeout);
            CheckError::new(
                ErrorKind::Timeout,
                format!("{name} {rtype}: no answer from {from} within {waited}"),
            )
        };
        let server = match server {
            Some(server) => server,
            None => timeout_at(deadline, self.system_server())
                .await
                .map_err(|_| too_late("the system's DNS server".to_owned()))??,
        };
        let reply = timeout_at(deadline, exchange(server, &question))
            .await
            .map_err(|_| too_late(server.to_string()))??;
        Ok(DnsAnswer {
            rcode: rcode_name(reply.metadata.response_code),
            answers: answers(&reply, &question),
        })
    }

    async fn system_server(&self) -> Result<SocketAddr, Failure> {
        let path = &self.resolv_conf;
        let found = self
            .system
            .get_or_try_init(|| async {
                let text = tokio::fs::read_to_string(path).await.map_err(|e| {
                    io_failure(e, |e| {
                        format!("no system DNS server: cannot read {}: {e}", path.display())
                    })
                })?;
                let ip = first_nameserver(&text).ok_or_else(|| {
                    let why = format!("no system DNS server: {} names none", path.display());
                    CheckError::new(ErrorKind::Dns, why)
                })?;
                Ok::<_, Failure>(SocketAddr::new(ip, DEFAULT_DNS_PORT))
            })
            .await?;
        Ok(*found)
    }
}

/// The first usable `nameserver` line of a resolv.conf.
fn first_nameserver(resolv_conf: &str) -> Option<IpAddr> {
    resolv_conf.lines().find_map(|line| {
        let line = line.split(['#', ';']).next().unwrap_or_default();
        let mut words = line.split_whitespace();
        match (words.next(), words.next()) {
            // A link-local address with a `%zone` does not parse and is passed over.
            (Some("nameserver"), Some(ip)) => ip.parse().ok(),
            _ => None,
        }
    })
}

/// Sends the question over UDP, and again over TCP when the reply was truncated.
async fn exchange(server: SocketAddr, question: &Query) -> Result<Message, Failure> {
    let mut request = Message::query(); // with a random id, so stray replies cannot pass as ours
    request.metadata.recursion_desired = true;
    request.add_query(question.clone());
    let mut edns = Edns::new();
    edns.set_max_payload(UDP_PAYLOAD);
    request.set_edns(edns);
    let bytes = request
        .to_vec()
        .map_err(|e| CheckError::new(ErrorKind::Dns, format!("cannot encode the question: {e}")))?;
    let reply = over_udp(server, &bytes, &request).await?;
    if !reply.metadata.truncation {
        return Ok(reply);
    }
    over_tcp(server, &bytes, &request).await
}

async fn over_udp(server: SocketAddr, bytes: &[u8], request: &Message) -> Result<Message, Failure> {
    let unreachable = |e| io_failure(e, |e| format!("{server}: DNS server unreachable ({e})"));
    let local: SocketAddr = match server {
        SocketAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
        SocketAddr::V6(_) => (Ipv6Addr::UNSPECIFIED, 0).into(),
    };
    let socket = UdpSocket::bind(local).await.map_err(unreachable)?;
    // Connected, so only the server's datagrams arrive and a closed port is reported to us.
    socket.connect(server).await.map_err(unreachable)?;
    socket.send(bytes).await.map_err(unreachable)?;
    let mut buf = vec![0u8; usize::from(u16::MAX)];
    loop {
        let n = socket.recv(&mut buf).await.map_err(unreachable)?;
        let reply = decode(server, &buf[..n])?;
        // A late reply to someone else's question is not an answer: wait for ours.
        if is_reply_to(&reply, request) {
            return Ok(reply);
        }
    }
}

/// DNS over TCP: each message is preceded by its length in two bytes (RFC 1035 §4.2.2).
async fn over_tcp(server: SocketAddr, bytes: &[u8], request: &Message) -> Result<Message, Failure> {
    let unreachable = |e| {
        io_failure(e, |e| {
            format!("{server}: DNS server unreachable over TCP ({e})")
        })
    };
    let cut_short = |e| {
        io_failure(e, |e| {
            format!("{server}: the reply over TCP was cut short ({e})")
        })
    };
    let mut stream = TcpStream::connect(server).await.map_err(unreachable)?;
    let len = u16::try_from(bytes.len()).map_err(|_| {
        CheckError::new(ErrorKind::Dns, "the question is too long to send over TCP")
    })?;
    let mut framed = Vec::with_capacity(bytes.len() + 2);
    framed.extend_from_slice(&len.to_be_bytes());
    framed.extend_from_slice(bytes);
    stream.write_all(&framed).await.map_err(unreachable)?;
    let mut len = [0u8; 2];
    stream.read_exact(&mut len).await.map_err(cut_short)?;
    let mut buf = vec![0u8; usize::from(u16::from_be_bytes(len))];
    stream.read_exact(&mut buf).await.map_err(cut_short)?;
    let reply = decode(server, &buf)?;
    if !is_reply_to(&reply, request) {
        let why = format!("{server}: malformed reply (it answers another question)");
        return Err(CheckError::new(ErrorKind::Dns, why).into());
    }
    Ok(reply)
}

fn decode(server: SocketAddr, bytes: &[u8]) -> Result<Message, CheckError> {
    Message::from_vec(bytes)
        .map_err(|e| CheckError::new(ErrorKind::Dns, format!("{server}: malformed reply: {e}")))
}

/// Some servers leave the question out of an error reply; when present it must be ours.
fn is_reply_to(reply: &Message, request: &Message) -> bool {
    reply.metadata.id == request.metadata.id
        && reply.metadata.message_type == MessageType::Response
        && (reply.queries.is_empty() || reply.queries == request.queries)
}

/// Running short of our own sockets or memory is this machine's failure, not the server's.
fn io_failure(e: io::Error, describe: impl FnOnce(&io::Error) -> String) -> Failure {
    if super::is_local_failure(&e) {
        Failure::Local(describe(&e))
    } else {
        CheckError::new(ErrorKind::Dns, describe(&e)).into()
    }
}

/// The names `dig` uses; codes without one show as `RCODE<n>`.
fn rcode_name(code: ResponseCode) -> String {
    let name = match code {
        ResponseCode::NoError => "NOERROR",
        ResponseCode::FormErr => "FORMERR",
        ResponseCode::ServFail => "SERVFAIL",
        ResponseCode::NXDomain => "NXDOMAIN",
        ResponseCode::NotImp => "NOTIMP",
        ResponseCode::Refused => "REFUSED",
        ResponseCode::YXDomain => "YXDOMAIN",
        ResponseCode::YXRRSet => "YXRRSET",
        ResponseCode::NXRRSet => "NXRRSET",
        ResponseCode::NotAuth => "NOTAUTH",
        ResponseCode::NotZone => "NOTZONE",
        ResponseCode::BADVERS => "BADVERS",
        ResponseCode::BADCOOKIE => "BADCOOKIE",
        other => return format!("RCODE{}", u16::from(other)),
    };
    name.to_owned()
}

/// The records of the asked type that answer for the asked name or, when the name is an alias,
/// for the name its CNAME chain ends at; other records (the chain itself, extras) are left out.
fn answers(reply: &Message, question: &Query) -> Vec<String> {
    let wanted = question.query_type();
    let mut owners = vec![question.name().clone()];
    if wanted != WireType::CNAME {
        // At most one step per record, so a CNAME loop ends.
        for _ in 0..reply.answers.len() {
            let Some(last) = owners.last() else { break };
            let next = reply.answers.iter().find_map(|r| match &r.data {
                RData::CNAME(target) if r.name == *last => Some(target.0.clone()),
                _ => None,
            });
            match next {
                Some(target) if !owners.contains(&target) => owners.push(target),
                _ => break,
            }
        }
    }
    reply
        .answers
        .iter()
        .filter(|r| r.record_type() == wanted && owners.contains(&r.name))
        .filter_map(|r| written(&r.data))
        .collect()
}

/// A record's data as people write it.
fn written(data: &RData) -> Option<String> {
    Some(match data {
        RData::A(a) => a.0.to_string(),
        RData::AAAA(aaaa) => aaaa.0.to_string(),
        RData::CNAME(cname) => name_text(&cname.0),
        RData::NS(ns) => name_text(&ns.0),
        RData::MX(mx) => format!("{} {}", mx.preference, name_text(&mx.exchange)),
        RData::TXT(txt) => txt
            .txt_data
            .iter()
            .map(|part| String::from_utf8_lossy(part))
            .collect(),
        RData::SOA(soa) => format!(
            "{} {} {} {} {} {} {}",
            name_text(&soa.mname),
            name_text(&soa.rname),
            soa.serial,
            // The wire carries these as unsigned 32-bit numbers; hickory reads them as i32.
            soa.refresh.cast_unsigned(),
            soa.retry.cast_unsigned(),
            soa.expire.cast_unsigned(),
            soa.minimum,
        ),
        _ => return None,
    })
}

/// Without the trailing dot, except for the root itself (a null MX points at `.`). In ASCII, as
/// `dig` shows it: an internationalised name keeps its `xn--` form.
fn name_text(name: &Name) -> String {
    let text = name.to_ascii();
    match text.strip_suffix('.') {
        Some("") | None => text,
        Some(bare) => bare.to_owned(),
    }
}

/// The type as it travels.
fn wire(rtype: RecordType) -> WireType {
    match rtype {
        RecordType::A => WireType::A,
        RecordType::Aaaa => WireType::AAAA,
        RecordType::Cname => WireType::CNAME,
        RecordType::Mx => WireType::MX,
        RecordType::Txt => WireType::TXT,
        RecordType::Ns => WireType::NS,
        RecordType::Soa => WireType::SOA,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::op::OpCode;
    use hickory_proto::rr::Record;
    use hickory_proto::rr::rdata::{A, AAAA, CNAME, MX, NS, SOA, TXT};
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex};
    use tokio::net::TcpListener;
    use tokio::task::JoinSet;

    /// Far longer than a loopback answer takes; a test that waits this long has failed.
    const PATIENCE: Duration = Duration::from_secs(5);

    type Zone = HashMap<(Name, WireType), Vec<RData>>;

    /// How the test server behaves over UDP; over TCP it always answers.
    #[derive(Clone, Copy)]
    enum Manner {
        Answer,
        /// Says the answer did not fit, with no records: the client must ask over TCP.
        Truncate,
        /// Sends a reply with another id before the real one.
        StrayFirst,
        Fail(ResponseCode),
        Garbage,
        Silent,
    }

    /// A DNS server on loopback, UDP and TCP on one port, whose records the test changes.
    struct Server {
        addr: SocketAddr,
        zone: Arc<Mutex<Zone>>,
        _tasks: JoinSet<()>,
    }

    impl Server {
        async fn start(manner: Manner) -> Server {
            let (udp, tcp) = loop {
                let udp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
                // The same port number over TCP is almost always free; if not, try another.
                if let Ok(tcp) = TcpListener::bind(udp.local_addr().unwrap()).await {
                    break (udp, tcp);
                }
            };
            let addr = udp.local_addr().unwrap();
            let zone = Arc::new(Mutex::new(Zone::new()));
            let mut tasks = JoinSet::new();
            tasks.spawn(serve_udp(udp, zone.clone(), manner));
            tasks.spawn(serve_tcp(tcp, zone.clone()));
            Server {
                addr,
                zone,
                _tasks: tasks,
            }
        }

        fn set(&self, name: &str, rtype: WireType, data: Vec<RData>) {
            let key = (Name::from_ascii(format!("{name}.")).unwrap(), rtype);
            self.zone.lock().unwrap().insert(key, data);
        }

        async fn ask(&self, name: &str, rtype: RecordType) -> Result<DnsAnswer, Failure> {
            DnsQuerier::new()
                .query(Some(self.addr), name, rtype, PATIENCE)
                .await
        }
    }

    async fn serve_udp(socket: UdpSocket, zone: Arc<Mutex<Zone>>, manner: Manner) {
        let mut buf = vec![0u8; 65_535];
        while let Ok((n, peer)) = socket.recv_from(&mut buf).await {
            let Ok(request) = Message::from_vec(&buf[..n]) else {
                continue;
            };
            let mut reply = reply_to(&request, &zone.lock().unwrap());
            match manner {
                Manner::Answer => {}
                Manner::Truncate => reply = reply.truncate(),
                Manner::StrayFirst => {
                    let mut stray = reply.clone();
                    stray.metadata.id = reply.metadata.id.wrapping_add(1);
                    stray.answers.clear();
                    let _ = socket.send_to(&stray.to_vec().unwrap(), peer).await;
                }
                Manner::Fail(code) => {
                    reply.answers.clear();
                    reply.metadata.response_code = code;
                }
                Manner::Garbage => {
                    let _ = socket.send_to(b"\x12\x34 not dns", peer).await;
                    continue;
                }
                Manner::Silent => continue,
            }
            let _ = socket.send_to(&reply.to_vec().unwrap(), peer).await;
        }
    }

    /// One connection at a time is enough for one client.
    async fn serve_tcp(listener: TcpListener, zone: Arc<Mutex<Zone>>) {
        while let Ok((mut stream, _)) = listener.accept().await {
            let mut len = [0u8; 2];
            while stream.read_exact(&mut len).await.is_ok() {
                let mut buf = vec![0u8; usize::from(u16::from_be_bytes(len))];
                if stream.read_exact(&mut buf).await.is_err() {
                    break;
                }
                let Ok(request) = Message::from_vec(&buf) else {
                    break;
                };
                let bytes = reply_to(&request, &zone.lock().unwrap()).to_vec().unwrap();
                let len = u16::try_from(bytes.len()).unwrap().to_be_bytes();
                if stream
                    .write_all(&[&len[..], &bytes].concat())
                    .await
                    .is_err()
                {
                    break;
                }
            }
        }
    }

    /// Answers from the zone, following CNAMEs as a recursive server does.
    fn reply_to(request: &Message, zone: &Zone) -> Message {
        let mut reply = Message::response(request.metadata.id, OpCode::Query);
        reply.metadata.recursion_desired = request.metadata.recursion_desired;
        reply.metadata.recursion_available = true;
        reply.add_queries(request.queries.iter().cloned());
        let Some(q) = request.queries.first() else {
            reply.metadata.response_code = ResponseCode::FormErr;
            return reply;
        };
        if !zone.keys().any(|(name, _)| name == q.name()) {
            reply.metadata.response_code = ResponseCode::NXDomain;
            return reply;
        }
        let mut owner = q.name().clone();
        for _ in 0..8 {
            if let Some(found) = zone.get(&(owner.clone(), q.query_type())) {
                for data in found {
                    reply.add_answer(Record::from_rdata(owner.clone(), 60, data.clone()));
                }
                break;
            }
            let Some([RData::CNAME(target)]) = zone
                .get(&(owner.clone(), WireType::CNAME))
                .map(Vec::as_slice)
            else {
                break;
            };
            let alias = RData::CNAME(target.clone());
            reply.add_answer(Record::from_rdata(owner.clone(), 60, alias));
            owner = target.0.clone();
        }
        reply
    }

    fn name(s: &str) -> Name {
        Name::from_ascii(format!("{s}.")).unwrap()
    }

    fn answered(result: Result<DnsAnswer, Failure>) -> DnsAnswer {
        match result {
            Ok(answer) => answer,
            Err(Failure::Target(e)) => panic!("failed: {e}"),
            Err(Failure::Local(why)) => panic!("failed here: {why}"),
        }
    }

    fn failed(result: Result<DnsAnswer, Failure>) -> CheckError {
        match result {
            Ok(answer) => panic!("answered {answer:?}"),
            Err(Failure::Target(e)) => e,
            Err(Failure::Local(why)) => panic!("failed here: {why}"),
        }
    }

    #[tokio::test]
    async fn each_record_type_is_written_as_people_write_it() {
        let server = Server::start(Manner::Answer).await;
        let zone = "example.test";
        server.set(zone, WireType::A, vec![RData::A(A::new(192, 0, 2, 1))]);
        let v6 = "2001:db8::1".parse().unwrap();
        server.set(zone, WireType::AAAA, vec![RData::AAAA(AAAA(v6))]);
        let mx = |pref, host| RData::MX(MX::new(pref, name(host)));
        let mxs = vec![mx(10, "mail.example.test"), mx(20, "backup.example.test")];
        server.set(zone, WireType::MX, mxs);
        let spf = ["v=spf1 ", "include:mail.example.test -all"].map(str::to_owned);
        server.set(zone, WireType::TXT, vec![RData::TXT(TXT::new(spf.into()))]);
        server.set(
            zone,
            WireType::NS,
            vec![RData::NS(NS(name("ns1.example.test")))],
        );
        let (mname, rname) = (name("ns1.example.test"), name("hostmaster.example.test"));
        // A refresh past i32::MAX shows that 32-bit fields are read as unsigned.
        let soa = SOA::new(
            mname,
            rname,
            2024010101,
            -1_294_967_296,
            900,
            1_209_600,
            300,
        );
        server.set(zone, WireType::SOA, vec![RData::SOA(soa)]);
        server.set(
            "www.example.test",
            WireType::CNAME,
            vec![RData::CNAME(CNAME(name(zone)))],
        );

        let expected = [
            (RecordType::A, zone, vec!["192.0.2.1"]),
            (RecordType::Aaaa, zone, vec!["2001:db8::1"]),
            (
                RecordType::Mx,
                zone,
                vec!["10 mail.example.test", "20 backup.example.test"],
            ),
            (
                RecordType::Txt,
                zone,
                vec!["v=spf1 include:mail.example.test -all"],
            ),
            (RecordType::Ns, zone, vec!["ns1.example.test"]),
            (
                RecordType::Soa,
                zone,
                vec![
                    "ns1.example.test hostmaster.example.test 2024010101 3000000000 900 1209600 300",
                ],
            ),
            (RecordType::Cname, "www.example.test", vec!["example.test"]),
        ];
        for (rtype, asked, answers) in expected {
            let answer = answered(server.ask(asked, rtype).await);
            assert_eq!(answer.rcode, "NOERROR", "{rtype}");
            assert_eq!(answer.answers, answers, "{rtype}");
        }
    }

    #[tokio::test]
    async fn an_alias_answers_with_the_records_its_chain_ends_at() {
        let server = Server::start(Manner::Answer).await;
        let alias = |to| vec![RData::CNAME(CNAME(name(to)))];
        server.set(
            "www.example.test",
            WireType::CNAME,
            alias("web.example.test"),
        );
        server.set(
            "web.example.test",
            WireType::CNAME,
            alias("host.example.test"),
        );
        let a = vec![
            RData::A(A::new(192, 0, 2, 7)),
            RData::A(A::new(192, 0, 2, 8)),
        ];
        server.set("host.example.test", WireType::A, a);

        let answer = answered(server.ask("www.example.test", RecordType::A).await);
        assert_eq!(answer.answers, ["192.0.2.7", "192.0.2.8"]);
        let answer = answered(server.ask("WWW.Example.Test", RecordType::Cname).await);
        assert_eq!(answer.answers, ["web.example.test"]);
        let answer = answered(server.ask("www.example.test", RecordType::Aaaa).await);
        assert_eq!(
            (answer.rcode.as_str(), answer.answers.len()),
            ("NOERROR", 0)
        );
    }

    #[tokio::test]
    async fn an_unknown_name_is_answered_nxdomain_not_an_error() {
        let server = Server::start(Manner::Answer).await;
        let answer = answered(server.ask("nowhere.example.test", RecordType::A).await);
        assert_eq!(answer.rcode, "NXDOMAIN");
        assert!(answer.answers.is_empty());
    }

    #[tokio::test]
    async fn a_failing_server_is_an_answer_with_its_response_code() {
        for (code, shown) in [
            (ResponseCode::ServFail, "SERVFAIL"),
            (ResponseCode::Refused, "REFUSED"),
        ] {
            let server = Server::start(Manner::Fail(code)).await;
            let answer = answered(server.ask("example.test", RecordType::A).await);
            assert_eq!(answer.rcode, shown);
        }
    }

    #[tokio::test]
    async fn a_server_that_never_answers_times_out_by_the_deadline() {
        let server = Server::start(Manner::Silent).await;
        let timeout = Duration::from_millis(300);
        let started = Instant::now();
        let result = DnsQuerier::new()
            .query(Some(server.addr), "example.test", RecordType::A, timeout)
            .await;
        let took = started.elapsed();
        let error = failed(result);
        assert_eq!(error.kind, ErrorKind::Timeout, "{error}");
        assert!(error.message.contains(&server.addr.to_string()), "{error}");
        assert!(took >= timeout && took < PATIENCE, "{took:?}");
    }

    #[tokio::test]
    async fn a_truncated_reply_is_asked_again_over_tcp() {
        let server = Server::start(Manner::Truncate).await;
        let long = "x".repeat(200);
        let txt = TXT::new(vec![long.clone(), long.clone(), long.clone()]);
        server.set("big.example.test", WireType::TXT, vec![RData::TXT(txt)]);
        let answer = answered(server.ask("big.example.test", RecordType::Txt).await);
        assert_eq!(answer.answers, [long.repeat(3)]);
    }

    #[test]
    fn a_query_can_run_on_any_worker_thread() {
        fn sendable<T: Send>(_: T) {}
        let querier = DnsQuerier::new();
        sendable(querier.query(None, "example.test", RecordType::A, PATIENCE));
    }

    #[tokio::test]
    async fn a_changed_record_is_seen_by_the_next_query() {
        let server = Server::start(Manner::Answer).await;
        let querier = DnsQuerier::new();
        let ask = || {
            querier.query(
                Some(server.addr),
                "api.example.test",
                RecordType::A,
                PATIENCE,
            )
        };
        server.set(
            "api.example.test",
            WireType::A,
            vec![RData::A(A::new(192, 0, 2, 1))],
        );
        assert_eq!(answered(ask().await).answers, ["192.0.2.1"]);
        server.set(
            "api.example.test",
            WireType::A,
            vec![RData::A(A::new(192, 0, 2, 2))],
        );
        assert_eq!(answered(ask().await).answers, ["192.0.2.2"]);
    }

    #[tokio::test]
    async fn a_reply_with_another_id_is_not_taken_for_the_answer() {
        let server = Server::start(Manner::StrayFirst).await;
        server.set(
            "example.test",
            WireType::A,
            vec![RData::A(A::new(192, 0, 2, 1))],
        );
        let answer = answered(server.ask("example.test", RecordType::A).await);
        assert_eq!(answer.answers, ["192.0.2.1"]);
    }

    #[tokio::test]
    async fn a_malformed_reply_fails_with_kind_dns() {
        let server = Server::start(Manner::Garbage).await;
        let error = failed(server.ask("example.test", RecordType::A).await);
        assert_eq!(error.kind, ErrorKind::Dns, "{error}");
        assert!(error.message.contains("malformed"), "{error}");
    }

    #[tokio::test]
    async fn a_closed_port_fails_with_kind_dns() {
        let closed = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = closed.local_addr().unwrap();
        drop(closed);
        let result = DnsQuerier::new()
            .query(Some(addr), "example.test", RecordType::A, PATIENCE)
            .await;
        let error = failed(result);
        assert_eq!(error.kind, ErrorKind::Dns, "{error}");
        assert!(error.message.contains("unreachable"), "{error}");
    }

    #[tokio::test]
    async fn an_invalid_name_fails_with_kind_dns_without_asking() {
        // Nothing listens there: an answer or a timeout would mean the name was sent.
        let nowhere = Some(SocketAddr::from((Ipv4Addr::LOCALHOST, 9)));
        let too_long = format!("{}.example.test", "x".repeat(64));
        for bad in ["", "two words.example.test", "a..b", too_long.as_str()] {
            let result = DnsQuerier::new()
                .query(nowhere, bad, RecordType::A, PATIENCE)
                .await;
            let error = failed(result);
            assert_eq!(error.kind, ErrorKind::Dns, "{bad:?}: {error}");
            assert!(error.message.contains("not a valid DNS name"), "{error}");
            assert!(crate::monitor::check_dns_name(bad).is_err(), "{bad:?}");
        }
        for good in ["example.test", "example.test.", "_dmarc.example.test", "."] {
            assert!(crate::monitor::check_dns_name(good).is_ok(), "{good:?}");
        }
    }

    #[tokio::test]
    async fn without_resolv_conf_the_system_server_is_a_clear_error() {
        let querier = DnsQuerier::reading(PathBuf::from("/nonexistent/resolv.conf"));
        let result = querier
            .query(None, "example.test", RecordType::A, PATIENCE)
            .await;
        let error = failed(result);
        assert_eq!(error.kind, ErrorKind::Dns, "{error}");
        assert!(
            error.message.contains("/nonexistent/resolv.conf"),
            "{error}"
        );
    }

    #[test]
    fn the_system_server_is_the_first_usable_nameserver_line() {
        let conf = "# generated\nsearch example.test\nnameserver fe80::1%eth0\n\
                    ; nameserver 192.0.2.9\nnameserver  192.0.2.53 # primary\nnameserver 192.0.2.54\n";
        assert_eq!(first_nameserver(conf), Some("192.0.2.53".parse().unwrap()));
        assert_eq!(
            first_nameserver("nameserver ::1"),
            Some("::1".parse().unwrap())
        );
        assert_eq!(first_nameserver("search example.test\n"), None);
    }
}
