/// The peers whose forwarding headers (`X-Forwarded-For`, `X-Forwarded-Proto`) are believed: the
/// load balancers in front of Porthole. From anyone else those headers are overwritten, because a
/// client can write whatever it likes into them.
public typealias TrustedProxies = AddressRanges
