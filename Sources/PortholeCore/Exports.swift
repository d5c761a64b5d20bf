// PortholeCore's types are built on the admin API's vocabulary (``SandboxState``, ``EgressClass``,
// the wire types the control plane answers with): whoever uses Core uses those too, so they come
// with it. PortholeAPI itself needs nothing else, so the Swift client builds on it alone.
@_exported public import PortholeAPI
