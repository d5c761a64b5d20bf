import Foundation
import Logging
import PortholeTLS

/// The certificate directory: every `NAME-cert.pem` (chain) with its `NAME-key.pem`.
/// `default-cert.pem` (or else the first name in sort order) serves clients without a known SNI.
/// When the directory has no pair at all, a development CA and wildcard certificate are made.
struct CertificateDirectory {
    let path: String

    func pairs() -> [TLSConfiguration.CertificateFiles] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        let stems = names.filter { $0.hasSuffix("-cert.pem") }.map { String($0.dropLast("-cert.pem".count)) }
            .filter { names.contains($0 + "-key.pem") }
            .sorted { lhs, rhs in lhs == "default" || (rhs != "default" && lhs < rhs) }
        return stems.map {
            TLSConfiguration.CertificateFiles(certificateChainPath: "\(path)/\($0)-cert.pem", privateKeyPath: "\(path)/\($0)-key.pem")
        }
    }

    /// Loads the pairs; with none, first makes a development certificate for `baseDomains`.
    /// `applicationProtocols` are offered in ALPN, preferred first.
    func load(baseDomains: [String], applicationProtocols: [String], logger: Logger) throws -> TLSCertificateStore {
        var files = pairs()
        if files.isEmpty {
            let names = DevelopmentCertificates.names(forBaseDomains: baseDomains)
            try DevelopmentCertificates.generate(directory: path, names: names)
            logger.notice(
                "made a development certificate; trust its CA to avoid browser warnings",
                metadata: ["ca": "\(path)/dev-ca.pem", "names": "\(names.joined(separator: ","))"]
            )
            files = pairs()
        }
        return try TLSCertificateStore(configuration: TLSConfiguration(certificates: files, applicationProtocols: applicationProtocols), logger: logger)
    }
}
