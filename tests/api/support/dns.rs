//! A DNS server on loopback (UDP) that knows the names the test gives it and answers NXDOMAIN
//! for every other.

use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::rdata::A;
use hickory_proto::rr::{Name, RData, Record, RecordType};
use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use tokio::net::UdpSocket;

/// Starts a server answering A records for `names`; returns its address.
pub async fn start(names: &[(&str, Ipv4Addr)]) -> SocketAddr {
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = socket.local_addr().unwrap();
    let known: HashMap<Name, Ipv4Addr> = names
        .iter()
        .map(|(n, ip)| (Name::from_ascii(format!("{n}.")).unwrap(), *ip))
        .collect();
    tokio::spawn(async move {
        let mut buf = [0u8; 1500];
        while let Ok((n, peer)) = socket.recv_from(&mut buf).await {
            let Ok(query) = Message::from_vec(&buf[..n]) else {
                continue;
            };
            let mut answer = Message::response(query.metadata.id, query.metadata.op_code);
            answer.metadata.recursion_desired = query.metadata.recursion_desired;
            answer.metadata.recursion_available = true;
            answer.add_queries(query.queries.iter().cloned());
            match query.queries.first() {
                Some(q) => match known.iter().find(|(name, _)| *name == q.name()) {
                    Some((_, ip)) => {
                        if q.query_type() == RecordType::A {
                            answer.add_answer(Record::from_rdata(
                                q.name().clone(),
                                60,
                                RData::A(A(*ip)),
                            ));
                        }
                    }
                    None => answer.metadata.response_code = ResponseCode::NXDomain,
                },
                None => answer.metadata.response_code = ResponseCode::FormErr,
            }
            if let Ok(bytes) = answer.to_vec() {
                let _ = socket.send_to(&bytes, peer).await;
            }
        }
    });
    addr
}
