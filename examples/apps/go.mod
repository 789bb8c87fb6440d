module github.com/insitu-cloud/insitu/examples/apps

go 1.26.8

require (
	github.com/tetratelabs/wazero v1.12.0
	golang.org/x/image v0.47.0
)

require golang.org/x/sys v0.49.0 // indirect
