// A program embedding the store needs the model too: `import FolioStore` brings it.
@_exported import FolioModel
