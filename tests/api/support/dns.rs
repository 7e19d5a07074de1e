//! A DNS server on loopback, over UDP and TCP on one port, that answers from records the test
//! gives it and may change while it runs, and answers NXDOMAIN for every other name. It follows
//! CNAMEs as a recursive server does, and over UDP says an answer too big for the datagram was
//! truncated, so clients ask again over TCP.

use hickory_proto::op::{Message, OpCode, ResponseCode};
use hickory_proto::rr::rdata::{A, AAAA, CNAME, MX, NS, SOA, TXT};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, UdpSocket};

/// Starts a server answering A records for `names`; returns its address.
pub async fn start(names: &[(&str, Ipv4Addr)]) -> SocketAddr {
    let server = DnsServer::start().await;
    for (name, ip) in names {
        server.set(name, "A", &[&ip.to_string()]);
    }
    server.addr
}

/// A running server; it answers until the test's runtime ends, even once this handle is gone.
pub struct DnsServer {
    pub addr: SocketAddr,
    zone: Arc<Mutex<Zone>>,
}

#[derive(Default)]
struct Zone {
    records: HashMap<(Name, RecordType), Vec<RData>>,
    /// Names answered with this code and no records instead.
    failing: HashMap<Name, ResponseCode>,
    silent: bool,
}

impl DnsServer {
    pub async fn start() -> DnsServer {
        let (udp, tcp) = loop {
            let udp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            // The same port number over TCP is almost always free; if not, try another.
            if let Ok(tcp) = TcpListener::bind(udp.local_addr().unwrap()).await {
                break (udp, tcp);
            }
        };
        let addr = udp.local_addr().unwrap();
        let zone = Arc::new(Mutex::new(Zone::default()));
        tokio::spawn(serve_udp(udp, zone.clone()));
        tokio::spawn(serve_tcp(tcp, zone.clone()));
        DnsServer { addr, zone }
    }

    /// Replaces the `rtype` ("A", "mx"…) records of `name` with `values`, written as the dns
    /// probe shows them: `192.0.2.1`, `2001:db8::1`, `target.example.test`, `10 mail.example.test`,
    /// a TXT record's text, `mname rname serial refresh retry expire minimum`. No values removes
    /// them; a name left with no records is answered NXDOMAIN.
    pub fn set(&self, name: &str, rtype: &str, values: &[&str]) {
        let rtype: RecordType = rtype.to_uppercase().parse().unwrap();
        let data: Vec<RData> = values.iter().map(|v| rdata(rtype, v)).collect();
        let mut zone = self.zone.lock().unwrap();
        if data.is_empty() {
            zone.records.remove(&(fqdn(name), rtype));
        } else {
            zone.records.insert((fqdn(name), rtype), data);
        }
    }

    /// Answers every question about `name` with `code` (`ServFail`, `Refused`…) and no records;
    /// `ResponseCode::NoError` answers from its records again.
    pub fn set_rcode(&self, name: &str, code: ResponseCode) {
        let mut zone = self.zone.lock().unwrap();
        if code == ResponseCode::NoError {
            zone.failing.remove(&fqdn(name));
        } else {
            zone.failing.insert(fqdn(name), code);
        }
    }

    /// While silent, questions are read and never answered, as from a server that went away.
    pub fn set_silent(&self, silent: bool) {
        self.zone.lock().unwrap().silent = silent;
    }
}

fn fqdn(name: &str) -> Name {
    Name::from_ascii(format!("{}.", name.trim_end_matches('.'))).unwrap()
}

fn rdata(rtype: RecordType, value: &str) -> RData {
    let fields: Vec<&str> = value.split_whitespace().collect();
    match (rtype, fields.as_slice()) {
        (RecordType::A, _) => RData::A(A(value.parse().unwrap())),
        (RecordType::AAAA, _) => RData::AAAA(AAAA(value.parse().unwrap())),
        (RecordType::CNAME, _) => RData::CNAME(CNAME(fqdn(value))),
        (RecordType::NS, _) => RData::NS(NS(fqdn(value))),
        (RecordType::MX, [preference, exchange]) => {
            RData::MX(MX::new(preference.parse().unwrap(), fqdn(exchange)))
        }
        // One TXT record holds strings of at most 255 bytes; clients join them again.
        (RecordType::TXT, _) if value.is_empty() => RData::TXT(TXT::new(vec![String::new()])),
        (RecordType::TXT, _) => RData::TXT(TXT::from_bytes(value.as_bytes().chunks(255).collect())),
        (RecordType::SOA, [mname, rname, numbers @ ..]) if numbers.len() == 5 => {
            let n: Vec<u32> = numbers.iter().map(|n| n.parse().unwrap()).collect();
            // hickory keeps refresh, retry and expire as i32; the wire carries the same bits.
            RData::SOA(SOA::new(
                fqdn(mname),
                fqdn(rname),
                n[0],
                n[1].cast_signed(),
                n[2].cast_signed(),
                n[3].cast_signed(),
                n[4],
            ))
        }
        _ => panic!("cannot serve {value:?} as a {rtype} record"),
    }
}

async fn serve_udp(socket: UdpSocket, zone: Arc<Mutex<Zone>>) {
    let mut buf = [0u8; 1500];
    while let Ok((n, peer)) = socket.recv_from(&mut buf).await {
        let Ok(query) = Message::from_vec(&buf[..n]) else {
            continue;
        };
        let Some(answer) = answer(&query, &zone.lock().unwrap()) else {
            continue;
        };
        let Ok(mut bytes) = answer.to_vec() else {
            continue;
        };
        // Larger than the client takes over UDP: it must ask again over TCP.
        let room = query
            .edns
            .as_ref()
            .map_or(512, |e| e.max_payload().max(512));
        if bytes.len() > usize::from(room) {
            let Ok(truncated) = answer.truncate().to_vec() else {
                continue;
            };
            bytes = truncated;
        }
        let _ = socket.send_to(&bytes, peer).await;
    }
}

/// Messages over TCP are preceded by their length in two bytes; one connection at a time.
async fn serve_tcp(listener: TcpListener, zone: Arc<Mutex<Zone>>) {
    while let Ok((mut stream, _)) = listener.accept().await {
        let mut len = [0u8; 2];
        while stream.read_exact(&mut len).await.is_ok() {
            let mut buf = vec![0u8; usize::from(u16::from_be_bytes(len))];
            if stream.read_exact(&mut buf).await.is_err() {
                break;
            }
            let Ok(query) = Message::from_vec(&buf) else {
                break;
            };
            let Some(answer) = answer(&query, &zone.lock().unwrap()) else {
                continue;
            };
            let Ok(bytes) = answer.to_vec() else {
                break;
            };
            let Ok(len) = u16::try_from(bytes.len()).map(u16::to_be_bytes) else {
                break;
            };
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

/// The reply to `query`, or `None` while the server is silent.
fn answer(query: &Message, zone: &Zone) -> Option<Message> {
    if zone.silent {
        return None;
    }
    let mut answer = Message::response(query.metadata.id, OpCode::Query);
    answer.metadata.recursion_desired = query.metadata.recursion_desired;
    answer.metadata.recursion_available = true;
    answer.add_queries(query.queries.iter().cloned());
    let Some(q) = query.queries.first() else {
        answer.metadata.response_code = ResponseCode::FormErr;
        return Some(answer);
    };
    if let Some(code) = zone.failing.get(q.name()) {
        answer.metadata.response_code = *code;
        return Some(answer);
    }
    if !zone.records.keys().any(|(name, _)| name == q.name()) {
        answer.metadata.response_code = ResponseCode::NXDomain;
        return Some(answer);
    }
    let mut owner = q.name().clone();
    // A few steps at most, so a CNAME loop ends.
    for _ in 0..8 {
        if let Some(found) = zone.records.get(&(owner.clone(), q.query_type())) {
            for data in found {
                answer.add_answer(Record::from_rdata(owner.clone(), 60, data.clone()));
            }
            break;
        }
        let Some([RData::CNAME(target)]) = zone
            .records
            .get(&(owner.clone(), RecordType::CNAME))
            .map(Vec::as_slice)
        else {
            break;
        };
        let alias = RData::CNAME(target.clone());
        answer.add_answer(Record::from_rdata(owner.clone(), 60, alias));
        owner = target.0.clone();
    }
    Some(answer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::op::Query;
    use std::time::Duration;

    /// Asks `server` like a plain client: no EDNS, so UDP answers past 512 bytes are truncated.
    async fn ask(server: SocketAddr, name: &str, rtype: RecordType, tcp: bool) -> Option<Message> {
        let mut query = Message::query();
        query.add_query(Query::query(fqdn(name), rtype));
        let bytes = query.to_vec().unwrap();
        let reply = if tcp {
            let mut stream = tokio::net::TcpStream::connect(server).await.unwrap();
            let len = u16::try_from(bytes.len()).unwrap().to_be_bytes();
            stream
                .write_all(&[&len[..], &bytes].concat())
                .await
                .unwrap();
            let mut len = [0u8; 2];
            stream.read_exact(&mut len).await.unwrap();
            let mut buf = vec![0u8; usize::from(u16::from_be_bytes(len))];
            stream.read_exact(&mut buf).await.unwrap();
            buf
        } else {
            let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            socket.send_to(&bytes, server).await.unwrap();
            let mut buf = vec![0u8; 65_535];
            let wait = Duration::from_millis(300);
            let (n, _) = tokio::time::timeout(wait, socket.recv_from(&mut buf))
                .await
                .ok()?
                .unwrap();
            buf.truncate(n);
            buf
        };
        Some(Message::from_vec(&reply).unwrap())
    }

    async fn data(server: SocketAddr, name: &str, rtype: RecordType) -> Vec<RData> {
        let reply = ask(server, name, rtype, false).await.unwrap();
        reply.answers.into_iter().map(|r| r.data).collect()
    }

    #[tokio::test]
    async fn the_test_server_serves_each_record_type_and_changes_at_once() {
        let dns = DnsServer::start().await;
        let records = [
            ("A", "192.0.2.1"),
            ("AAAA", "2001:db8::1"),
            ("mx", "10 mail.upbeat.test"),
            ("TXT", "v=spf1 -all"),
            ("NS", "ns1.upbeat.test"),
            (
                "SOA",
                "ns1.upbeat.test host.upbeat.test 7 3000000000 900 1209600 300",
            ),
        ];
        for (rtype, value) in records {
            dns.set("upbeat.test", rtype, &[value]);
        }
        dns.set("www.upbeat.test", "CNAME", &["upbeat.test."]);
        for (rtype, value) in records {
            let rtype = rtype.to_uppercase().parse().unwrap();
            assert_eq!(
                data(dns.addr, "upbeat.test", rtype).await,
                [rdata(rtype, value)]
            );
        }
        let aliased = data(dns.addr, "WWW.upbeat.test", RecordType::A).await;
        assert_eq!(aliased.len(), 2, "{aliased:?}");
        assert_eq!(aliased[1], rdata(RecordType::A, "192.0.2.1"));

        dns.set("upbeat.test", "A", &["192.0.2.2", "192.0.2.3"]);
        assert_eq!(data(dns.addr, "upbeat.test", RecordType::A).await.len(), 2);
        dns.set_rcode("upbeat.test", ResponseCode::ServFail);
        let reply = ask(dns.addr, "upbeat.test", RecordType::A, false)
            .await
            .unwrap();
        assert_eq!(reply.metadata.response_code, ResponseCode::ServFail);
        dns.set_rcode("upbeat.test", ResponseCode::NoError);
        let reply = ask(dns.addr, "gone.upbeat.test", RecordType::A, true)
            .await
            .unwrap();
        assert_eq!(reply.metadata.response_code, ResponseCode::NXDomain);
        dns.set_silent(true);
        assert!(
            ask(dns.addr, "upbeat.test", RecordType::A, false)
                .await
                .is_none()
        );
    }

    #[tokio::test]
    async fn an_answer_too_big_for_udp_is_truncated_and_whole_over_tcp() {
        let dns = DnsServer::start().await;
        let long = "x".repeat(600);
        dns.set("big.upbeat.test", "TXT", &[&long]);
        let udp = ask(dns.addr, "big.upbeat.test", RecordType::TXT, false)
            .await
            .unwrap();
        assert!(udp.metadata.truncation && udp.answers.is_empty());
        let tcp = ask(dns.addr, "big.upbeat.test", RecordType::TXT, true)
            .await
            .unwrap();
        assert_eq!(tcp.answers[0].data, rdata(RecordType::TXT, &long));
    }

    #[tokio::test]
    async fn the_address_list_server_answers_a_records_and_nxdomain_otherwise() {
        let addr = start(&[("site.upbeat.test", Ipv4Addr::LOCALHOST)]).await;
        let a = data(addr, "site.upbeat.test", RecordType::A).await;
        assert_eq!(a, [RData::A(A(Ipv4Addr::LOCALHOST))]);
        assert!(
            data(addr, "site.upbeat.test", RecordType::AAAA)
                .await
                .is_empty()
        );
        let reply = ask(addr, "other.upbeat.test", RecordType::A, false)
            .await
            .unwrap();
        assert_eq!(reply.metadata.response_code, ResponseCode::NXDomain);
    }
}
