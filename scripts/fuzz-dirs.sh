# Sourced by .ci/steps.d/90-fuzz.sh and scripts/fuzz-campaign.sh (run from fuzz/):
# fuzz_dirs TARGET prints the input directories of a target, one per line: its committed
# seeds, then files read in place — the XBau samples of ../shared (never copied into the
# repository) and the project's own test vectors.
fuzz_dirs() {
  local target="$1"
  local shared="${POSTSTELLE_SHARED:-$(cd ../.. && pwd)/shared}"
  echo "seeds/$target"
  case "$target" in
    xml_reader|validate_xbau|root_sniff)
      for d in "$shared/xoev/samples/xbau/fv-testdateien" "$shared/xoev/samples/xbau/negative"; do
        if [ -d "$d" ]; then echo "$d"; fi
      done
      ;;
    # Our own vectors; the JWEs are encrypted for the key the target uses.
    jwe_stream) echo "../test-vectors/jwe" ;;
    metadata) echo "../test-vectors/metadata" ;;
    json_fachdaten) echo "../test-vectors/fim/documents" ;;
  esac
}
