import ArgumentParser
import PortholeTLS

struct CertsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "certs",
        abstract: "Manage TLS certificates.",
        subcommands: [Dev.self]
    )

    struct Dev: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a development CA and a certificate for the preview base domains and localhost.",
            discussion: """
                The certificate covers *.DOMAIN and DOMAIN for each --domain (default: preview.localhost), \
                and localhost. Trust dev-ca.pem in your browser (certs/README.md says how), or pass it to \
                curl with --cacert.
                """
        )

        @Option(name: .customLong("domain"), help: "A preview base domain to cover; repeat for several. (default: preview.localhost)")
        var domains: [String] = []

        @Option(help: "Directory to write into. (default: certs)")
        var certDir: String = "certs"

        @Flag(help: "Replace existing development certificates.")
        var force = false

        func run() async throws {
            if !force && !CertificateDirectory(path: certDir).pairs().isEmpty {
                print("\(certDir) already has certificates; use --force to replace the development ones")
                return
            }
            let domains = domains.isEmpty ? ["preview.localhost"] : domains
            for domain in domains {
                let labels = domain.split(separator: ".", omittingEmptySubsequences: false)
                guard !labels.isEmpty, labels.allSatisfy({ !$0.isEmpty && $0.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") } })
                else {
                    throw ValidationError("--domain \"\(domain)\" is not a DNS name (letters, digits and '-' in dot-separated labels)")
                }
            }
            let names = DevelopmentCertificates.names(forBaseDomains: domains)
            try DevelopmentCertificates.generate(directory: certDir, names: names)
            print("certificate names: \(names.joined(separator: ", "))")
            print("wrote \(certDir)/dev-ca.pem (trust this CA), \(certDir)/dev-cert.pem and \(certDir)/dev-key.pem")
        }
    }
}
