// MARK: - Essential services

extension DomainAllowList {
    /// The names every sandbox may resolve whatever its own list says: package registries, container
    /// registries, source hosts, OS mirrors and the CDNs they are served from. Kept in the file format of
    /// ``parseLines(_:)`` so an operator's replacement file reads the same; a test parses it.
    ///
    /// Registries answer many names through CNAMEs to their CDN (`files.pythonhosted.org` is a Fastly
    /// name, `registry.npmjs.org` a Cloudflare one), and the resolver allows an answer only when every
    /// name in its CNAME chain is allowed: hence the CDN wildcards.
    public static let defaultEssentialServicesText = """
        # npm and Yarn
        registry.npmjs.org
        *.npmjs.org
        registry.yarnpkg.com
        *.yarnpkg.com

        # PyPI
        pypi.org
        *.pypi.org
        files.pythonhosted.org
        *.pythonhosted.org

        # Maven Central
        repo.maven.apache.org
        repo1.maven.org
        *.maven.org

        # Docker Hub
        docker.io
        *.docker.io
        registry-1.docker.io
        auth.docker.io
        production.cloudflare.docker.com
        *.docker.com

        # Google Container Registry and Artifact Registry
        gcr.io
        *.gcr.io
        *.pkg.dev

        # Microsoft Container Registry
        mcr.microsoft.com
        *.data.mcr.microsoft.com

        # Quay
        quay.io
        *.quay.io

        # Kubernetes images
        registry.k8s.io
        *.k8s.io

        # GitHub, its raw content and its container registry
        github.com
        *.github.com
        *.githubusercontent.com
        ghcr.io
        *.ghcr.io

        # GitLab
        gitlab.com
        *.gitlab.com

        # Bitbucket
        bitbucket.org
        *.bitbucket.org

        # Debian and Ubuntu mirrors
        deb.debian.org
        security.debian.org
        *.debian.org
        archive.ubuntu.com
        security.ubuntu.com
        *.ubuntu.com

        # CDNs the registries above are served from
        *.cloudflare.com
        cdnjs.cloudflare.com
        *.fastly.net
        *.fastlylb.net
        unpkg.com
        cdn.jsdelivr.net
        *.jsdelivr.net

        # AI and sandbox platform APIs
        api.anthropic.com
        app.daytona.io

        """

    /// ``defaultEssentialServicesText`` parsed. A constant, checked by a test, so the `try!` cannot fire
    /// on anything a caller passes.
    public static let defaultEssentialServices: DomainAllowList = try! parseLines(defaultEssentialServicesText)
}
