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
            abstract: "Write a development CA and a certificate for *.preview.localhost, preview.localhost and localhost.",
            discussion: "Trust dev-ca.pem in your browser, or pass it to curl with --cacert."
        )

        @Option(help: "Directory to write into. (default: certs)")
        var certDir: String = "certs"

        @Flag(help: "Replace existing development certificates.")
        var force = false

        func run() async throws {
            if !force && !CertificateDirectory(path: certDir).pairs().isEmpty {
                print("\(certDir) already has certificates; use --force to replace the development ones")
                return
            }
            try DevelopmentCertificates.generate(directory: certDir)
            print("wrote \(certDir)/dev-ca.pem (trust this CA), \(certDir)/dev-cert.pem and \(certDir)/dev-key.pem")
        }
    }
}
