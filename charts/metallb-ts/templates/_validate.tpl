{{/*
Render-time checks of configInline. values.schema.json (generated from the project's
schema/config.schema.json) already rejects unknown fields and wrong types; these templates add
the semantic rules of `metallbctl validate` that a template can decide. Every problem found is
collected and reported at once as "configInline: <path>: <reason>", with the same paths
metallbctl uses (address-pools[1].protocol). docs/helm.md lists the rules checked here and those
left to the controller.
*/}}

{{/* The text of a scalar value ("" for null). */}}
{{- define "metallb.v.text" -}}
{{- if kindIs "invalid" . -}}
{{- else if kindIs "float64" . -}}{{- if eq (float64 (int64 .)) . -}}{{- int64 . -}}{{- else -}}{{- . -}}{{- end -}}
{{- else -}}{{- toString . -}}
{{- end -}}
{{- end -}}

{{/* "4", "6" or "" (not an IP address), for one address text. */}}
{{- define "metallb.v.ipFamily" -}}
{{- $s := . -}}
{{- if contains ":" $s -}}
  {{- if and (regexMatch "^[0-9a-fA-F:.]+$" $s) (le (len $s) 45) (le (len (splitList "::" $s)) 2) (not (contains ":::" $s)) -}}6{{- end -}}
{{- else -}}
  {{- $parts := splitList "." $s -}}
  {{- if eq (len $parts) 4 -}}
    {{- $ok := true -}}
    {{- range $parts -}}
      {{- if not (regexMatch "^[0-9]{1,3}$" .) -}}{{- $ok = false -}}{{- else if gt (atoi .) 255 -}}{{- $ok = false -}}{{- end -}}
    {{- end -}}
    {{- if $ok -}}4{{- end -}}
  {{- end -}}
{{- end -}}
{{- end -}}

{{/* The family ("4"/"6") of an address-pool entry (a CIDR or a range), or "" when malformed. */}}
{{- define "metallb.v.poolEntryFamily" -}}
{{- $s := . -}}
{{- if contains "-" $s -}}
  {{- $ends := splitn "-" 2 $s -}}
  {{- $a := include "metallb.v.ipFamily" (trimAll " " $ends._0) -}}
  {{- $b := include "metallb.v.ipFamily" (trimAll " " $ends._1) -}}
  {{- if and $a (eq $a $b) -}}{{- $a -}}{{- end -}}
{{- else -}}
  {{- $parts := splitList "/" $s -}}
  {{- if eq (len $parts) 2 -}}
    {{- $f := include "metallb.v.ipFamily" (index $parts 0) -}}
    {{- $len := index $parts 1 -}}
    {{- if and $f (regexMatch "^[0-9]{1,3}$" $len) -}}
      {{- if le (atoi $len) (ternary 32 128 (eq $f "4")) -}}{{- $f -}}{{- end -}}
    {{- end -}}
  {{- end -}}
{{- end -}}
{{- end -}}

{{/* Adds one problem: (list $ctx path message). */}}
{{- define "metallb.v.add" -}}
{{- $ctx := index . 0 -}}
{{- $_ := set $ctx "problems" (append $ctx.problems (printf "%s: %s" (index . 1) (index . 2))) -}}
{{- end -}}

{{/* True ("1") when the text is a community "A:B" with A and B at most 65535. */}}
{{- define "metallb.v.isCommunity" -}}
{{- $m := regexFindAll "^([0-9]{1,5}):([0-9]{1,5})$" . 1 -}}
{{- if $m -}}
  {{- $ab := splitList ":" . -}}
  {{- if and (le (atoi (index $ab 0)) 65535) (le (atoi (index $ab 1)) 65535) -}}1{{- end -}}
{{- end -}}
{{- end -}}

{{/* Adds a problem when field of obj is present and outside lo..hi: (list $ctx path obj field lo hi). */}}
{{- define "metallb.v.inRange" -}}
{{- $ctx := index . 0 -}}{{- $obj := index . 2 -}}{{- $field := index . 3 -}}{{- $lo := index . 4 -}}{{- $hi := index . 5 -}}
{{- $path := printf "%s.%s" (index . 1) $field -}}
{{- $v := index $obj $field -}}
{{- if and (hasKey $obj $field) (not (kindIs "invalid" $v)) -}}
{{- if or (lt (float64 $v) (float64 $lo)) (gt (float64 $v) (float64 $hi)) -}}
{{- include "metallb.v.add" (list $ctx $path (printf "%s is out of range (%d-%d)" (include "metallb.v.text" $v) $lo $hi)) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "metallb.v.nodeSelectors" -}}
{{- $ctx := index . 0 -}}{{- $base := index . 1 -}}
{{- range $i, $sel := (index . 2) -}}
  {{- $sel = $sel | default dict -}}
  {{- range $j, $e := (get $sel "match-expressions" | default list) -}}
    {{- $e = $e | default dict -}}
    {{- $path := printf "%s[%d].match-expressions[%d]" $base $i $j -}}
    {{- if eq (include "metallb.v.text" (get $e "key")) "" -}}
      {{- include "metallb.v.add" (list $ctx (printf "%s.key" $path) "missing key") -}}
    {{- end -}}
    {{- $op := include "metallb.v.text" (get $e "operator") -}}
    {{- $n := len (get $e "values" | default list) -}}
    {{- if not (has $op (list "In" "NotIn" "Exists" "DoesNotExist")) -}}
      {{- include "metallb.v.add" (list $ctx (printf "%s.operator" $path) (printf "%q is not a valid operator (In, NotIn, Exists or DoesNotExist; case-sensitive)" $op)) -}}
    {{- else if and (has $op (list "In" "NotIn")) (eq $n 0) -}}
      {{- include "metallb.v.add" (list $ctx (printf "%s.values" $path) (printf "operator %s needs at least one value" $op)) -}}
    {{- else if and (has $op (list "Exists" "DoesNotExist")) (gt $n 0) -}}
      {{- include "metallb.v.add" (list $ctx (printf "%s.values" $path) (printf "operator %s takes no values" $op)) -}}
    {{- end -}}
  {{- end -}}
{{- end -}}
{{- end -}}

{{/* All checks; fails the render when configInline has problems. Argument: the root context. */}}
{{- define "metallb.validateConfigInline" -}}
{{- $cfg := .Values.configInline | default dict -}}
{{- $ctx := dict "problems" list -}}

{{- /* bfd-profiles: names and ranges; native-mode speakers refuse any profile at all */ -}}
{{- $bfdNames := list -}}
{{- $bfd := get $cfg "bfd-profiles" | default list -}}
{{- range $i, $b := $bfd -}}
  {{- $b = $b | default dict -}}
  {{- $path := printf "bfd-profiles[%d]" $i -}}
  {{- $name := include "metallb.v.text" (get $b "name") -}}
  {{- if eq $name "" -}}
    {{- include "metallb.v.add" (list $ctx (printf "%s.name" $path) "missing bfd profile name") -}}
  {{- else if has $name $bfdNames -}}
    {{- include "metallb.v.add" (list $ctx (printf "%s.name" $path) (printf "duplicate bfd profile name %q" $name)) -}}
  {{- else -}}
    {{- $bfdNames = append $bfdNames $name -}}
  {{- end -}}
  {{- include "metallb.v.inRange" (list $ctx $path $b "receive-interval" 10 60000) -}}
  {{- include "metallb.v.inRange" (list $ctx $path $b "transmit-interval" 10 60000) -}}
  {{- include "metallb.v.inRange" (list $ctx $path $b "detect-multiplier" 2 255) -}}
  {{- include "metallb.v.inRange" (list $ctx $path $b "echo-interval" 10 60000) -}}
  {{- include "metallb.v.inRange" (list $ctx $path $b "minimum-ttl" 1 254) -}}
{{- end -}}
{{- if gt (len $bfd) 0 -}}
  {{- include "metallb.v.add" (list $ctx "bfd-profiles" "BFD profiles are not supported by metallb-ts's speaker (it implements BGP natively)") -}}
{{- end -}}

{{- /* peers */ -}}
{{- range $i, $p := (get $cfg "peers" | default list) -}}
  {{- $p = $p | default dict -}}
  {{- $path := printf "peers[%d]" $i -}}
  {{- $my := get $p "my-asn" -}}
  {{- $peer := get $p "peer-asn" -}}
  {{- if not $my -}}{{- include "metallb.v.add" (list $ctx (printf "%s.my-asn" $path) "missing local ASN") -}}{{- end -}}
  {{- if not $peer -}}{{- include "metallb.v.add" (list $ctx (printf "%s.peer-asn" $path) "missing peer ASN") -}}{{- end -}}
  {{- if and (get $p "ebgp-multihop") (eq (float64 ($my | default 0)) (float64 ($peer | default 0))) -}}
    {{- include "metallb.v.add" (list $ctx (printf "%s.ebgp-multihop" $path) "ebgp-multihop is set for an iBGP peer (my-asn equals peer-asn)") -}}
  {{- end -}}
  {{- $addr := include "metallb.v.text" (get $p "peer-address") -}}
  {{- if eq $addr "" -}}
    {{- include "metallb.v.add" (list $ctx (printf "%s.peer-address" $path) "missing peer address") -}}
  {{- else if not (include "metallb.v.ipFamily" $addr) -}}
    {{- include "metallb.v.add" (list $ctx (printf "%s.peer-address" $path) (printf "invalid peer IP %q" $addr)) -}}
  {{- end -}}
  {{- range $field := list "router-id" "source-address" -}}
    {{- $t := include "metallb.v.text" (get $p $field) -}}
    {{- if and (ne $t "") (not (include "metallb.v.ipFamily" $t)) -}}
      {{- include "metallb.v.add" (list $ctx (printf "%s.%s" $path $field) (printf "%q is not an IP address" $t)) -}}
    {{- end -}}
  {{- end -}}
  {{- $hold := include "metallb.v.text" (get $p "hold-time") -}}
  {{- if and (ne $hold "") (not (regexMatch "^[-+]?(([0-9]+(\\.[0-9]*)?|\\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))+$|^0$" $hold)) -}}
    {{- include "metallb.v.add" (list $ctx (printf "%s.hold-time" $path) (printf "invalid hold time %q (write a Go duration such as 90s or 1m30s)" $hold)) -}}
  {{- end -}}
  {{- if ne (include "metallb.v.text" (get $p "keepalive-time")) "" -}}
    {{- include "metallb.v.add" (list $ctx (printf "%s.keepalive-time" $path) "keepalive-time is not supported by metallb-ts's speaker (it always uses hold-time / 3)") -}}
  {{- end -}}
  {{- $bp := include "metallb.v.text" (get $p "bfd-profile") -}}
  {{- if and (ne $bp "") (not (has $bp $bfdNames)) -}}
    {{- include "metallb.v.add" (list $ctx (printf "%s.bfd-profile" $path) (printf "referencing non existing bfd profile %q" $bp)) -}}
  {{- else if ne $bp "" -}}
    {{- include "metallb.v.add" (list $ctx (printf "%s.bfd-profile" $path) "BFD profiles are not supported by metallb-ts's speaker (it implements BGP natively)") -}}
  {{- end -}}
  {{- include "metallb.v.nodeSelectors" (list $ctx (printf "%s.node-selectors" $path) (get $p "node-selectors" | default list)) -}}
{{- end -}}

{{- /* bgp-communities */ -}}
{{- $aliases := get $cfg "bgp-communities" | default dict -}}
{{- range $alias, $v := $aliases -}}
  {{- $t := include "metallb.v.text" $v -}}
  {{- if not (include "metallb.v.isCommunity" $t) -}}
    {{- include "metallb.v.add" (list $ctx (printf "bgp-communities.%s" $alias) (printf "%q is not a community of the form A:B (decimal A and B, each at most 65535)" $t)) -}}
  {{- end -}}
{{- end -}}

{{- /* address-pools */ -}}
{{- $poolNames := dict -}}
{{- range $i, $pool := (get $cfg "address-pools" | default list) -}}
  {{- $pool = $pool | default dict -}}
  {{- $path := printf "address-pools[%d]" $i -}}
  {{- $name := include "metallb.v.text" (get $pool "name") -}}
  {{- if eq $name "" -}}
    {{- include "metallb.v.add" (list $ctx (printf "%s.name" $path) "missing pool name") -}}
  {{- else if hasKey $poolNames $name -}}
    {{- include "metallb.v.add" (list $ctx (printf "%s.name" $path) (printf "duplicate definition of pool %q (also address-pools[%d])" $name (get $poolNames $name))) -}}
  {{- else -}}
    {{- $_ := set $poolNames $name $i -}}
  {{- end -}}
  {{- $proto := include "metallb.v.text" (get $pool "protocol") -}}
  {{- if eq $proto "" -}}
    {{- include "metallb.v.add" (list $ctx (printf "%s.protocol" $path) "missing the protocol field (layer2 or bgp)") -}}
  {{- else if not (has $proto (list "layer2" "bgp")) -}}
    {{- include "metallb.v.add" (list $ctx (printf "%s.protocol" $path) (printf "unknown protocol %q (must be layer2 or bgp, case-sensitive)" $proto)) -}}
  {{- end -}}
  {{- $addrs := get $pool "addresses" | default list -}}
  {{- if eq (len $addrs) 0 -}}
    {{- include "metallb.v.add" (list $ctx (printf "%s.addresses" $path) "pool has no prefixes defined") -}}
  {{- end -}}
  {{- range $j, $a := $addrs -}}
    {{- $t := include "metallb.v.text" $a -}}
    {{- $fam := include "metallb.v.poolEntryFamily" $t -}}
    {{- if not $fam -}}
      {{- include "metallb.v.add" (list $ctx (printf "%s.addresses[%d]" $path $j) (printf "%q is not a CIDR (a.b.c.d/n) or an address range (a.b.c.d-e.f.g.h) of one family" $t)) -}}
    {{- else if and (eq $proto "bgp") (eq $fam "6") -}}
      {{- include "metallb.v.add" (list $ctx (printf "%s.addresses[%d]" $path $j) (printf "IPv6 address %q in a bgp pool is not supported by metallb-ts's speaker" $t)) -}}
    {{- end -}}
  {{- end -}}
  {{- $ads := get $pool "bgp-advertisements" | default list -}}
  {{- if and (eq $proto "layer2") (gt (len $ads) 0) -}}
    {{- include "metallb.v.add" (list $ctx (printf "%s.bgp-advertisements" $path) "bgp-advertisements are only allowed in pools with protocol bgp") -}}
  {{- else if eq $proto "bgp" -}}
    {{- $fingerprints := dict -}}
    {{- range $k, $ad := $ads -}}
      {{- $ad = $ad | default dict -}}
      {{- $ap := printf "%s.bgp-advertisements[%d]" $path $k -}}
      {{- $fp := toJson $ad -}}
      {{- if hasKey $fingerprints $fp -}}
        {{- include "metallb.v.add" (list $ctx $ap (printf "duplicate definition of bgpadvertisements (same as bgp-advertisements[%d])" (get $fingerprints $fp))) -}}
      {{- else -}}
        {{- $_ := set $fingerprints $fp $k -}}
      {{- end -}}
      {{- include "metallb.v.inRange" (list $ctx $ap $ad "aggregation-length" 0 32) -}}
      {{- include "metallb.v.inRange" (list $ctx $ap $ad "aggregation-length-v6" 0 128) -}}
      {{- $seen := list -}}
      {{- range $c, $ct := (get $ad "communities" | default list) -}}
        {{- $t := include "metallb.v.text" $ct -}}
        {{- if has $t $seen -}}
          {{- include "metallb.v.add" (list $ctx (printf "%s.communities[%d]" $ap $c) (printf "duplicate community %q" $t)) -}}
        {{- else if and (not (hasKey $aliases $t)) (not (include "metallb.v.isCommunity" $t)) -}}
          {{- include "metallb.v.add" (list $ctx (printf "%s.communities[%d]" $ap $c) (printf "%q is neither a community A:B nor an alias from bgp-communities" $t)) -}}
        {{- end -}}
        {{- $seen = append $seen $t -}}
      {{- end -}}
    {{- end -}}
  {{- end -}}
{{- end -}}

{{- if $ctx.problems -}}
{{- fail (printf "configInline is invalid (%d problem(s); nothing was changed):\n  configInline: %s" (len $ctx.problems) (join "\n  configInline: " $ctx.problems)) -}}
{{- end -}}
{{- end -}}
