import CNftables

/// The kernel's nftables through libnftables: a batch of `nft` commands per call, which the
/// kernel applies as one transaction (all of it or none of it). Not thread-safe: one owner.
final class NftablesSession {
    private let context: OpaquePointer

    init() throws(NftablesError) {
        guard let context = nft_ctx_new(UInt32(NFT_CTX_DEFAULT)) else {
            throw NftablesError.unavailable("nft_ctx_new failed (out of memory?)")
        }
        // Output and errors into buffers we read, instead of the process's stdout and stderr.
        guard nft_ctx_buffer_output(context) == 0, nft_ctx_buffer_error(context) == 0 else {
            nft_ctx_free(context)
            throw NftablesError.unavailable("libnftables could not buffer its output")
        }
        self.context = context
    }

    deinit {
        nft_ctx_free(context)
    }

    /// Runs `commands` (nft syntax, one command per line) as one transaction and returns what nft
    /// printed (listings). Throws with nft's own message, which names the failing line.
    @discardableResult
    func run(_ commands: String) throws(NftablesError) -> String {
        let status = nft_run_cmd_from_buffer(context, commands)
        let output = nft_ctx_get_output_buffer(context).map { String(cString: $0) } ?? ""
        let errors = nft_ctx_get_error_buffer(context).map { String(cString: $0) } ?? ""
        guard status == 0 else {
            throw NftablesError.rejected(errors.isEmpty ? "nft failed with status \(status)" : errors, commands: commands)
        }
        return output
    }

    /// `run` with JSON output (`nft -j`), for reading counters and set elements.
    func runJSON(_ commands: String) throws(NftablesError) -> String {
        let flags = nft_ctx_output_get_flags(context)
        nft_ctx_output_set_flags(context, flags | UInt32(NFT_CTX_OUTPUT_JSON))
        defer { nft_ctx_output_set_flags(context, flags) }
        return try run(commands)
    }
}

@available(*, unavailable)
extension NftablesSession: Sendable {}
