# Helpers for the bench/*_vs_torch.sh scripts; source it.
# shellcheck shell=bash

# The median of the arguments (numbers).
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

# Exits the script with a SKIP line (status 0) when Debian's Python has no PyTorch.
require_torch() {
  /usr/bin/python3 -c "import torch" 2>/dev/null || {
    echo "SKIP: PyTorch missing (apt-get install python3-torch)"; exit 0; }
}

# Writes an RGB noise PNG of size x size to the file $2, using scratch files in folder $1.
noise_png() {
  local dir=$1 out=$2 size=$3
  vips gaussnoise "$dir/n.v" "$size" "$size" --sigma 50 --mean 128
  vips bandjoin "$dir/n.v $dir/n.v $dir/n.v" "$dir/c.v"
  vips cast "$dir/c.v" "$out" uchar
}
