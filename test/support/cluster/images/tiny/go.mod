module metallb-ts/cluster-tiny

go 1.22
