/// The admin API's OpenAPI 3.1 document (`openapi.json` beside this file), served at `/v1/openapi.json`.
public enum OpenAPIDocument {
    public static var bytes: [UInt8] { PackageResources.openapi_json }

    /// The Daytona-compatible API's (`daytona-openapi.json`), served at `/api/openapi.json`.
    public static var daytonaBytes: [UInt8] { PackageResources.daytona_openapi_json }
}
