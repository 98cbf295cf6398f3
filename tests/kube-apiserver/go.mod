// Dummy module file. The server is built in GOPATH mode (GO111MODULE=off)
// against Debian's /usr/share/gocode; this file only enables Go's minimal
// module compatibility so that "/vN" import paths (go-restful/v3) resolve.
module mosaic.local/kubeapiserver

go 1.26
