package blobs

// NewWithSync is New with the directory sync replaced, so a test can see which directories
// are synced and make a sync fail.
var NewWithSync = newDir

// SyncDir is the real directory sync that New installs.
var SyncDir = syncDir
