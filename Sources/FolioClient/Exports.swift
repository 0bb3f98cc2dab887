// What a program using FolioClient needs, with `import FolioClient` alone: the model
// (articles, versions, contexts, outcomes) and the few protocol values calls take.
@_exported import FolioModel
@_exported import struct FolioProtocol.Hello
@_exported import struct FolioProtocol.ListQuery
@_exported import struct FolioProtocol.SharedKey
@_exported import struct FolioTransport.TLSFiles
