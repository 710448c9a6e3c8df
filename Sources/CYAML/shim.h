// libyaml (Debian libyaml-dev, 0.2.5): the event parser that reads sidecar.yaml. It is the C
// parser that Yams wraps, used directly so that the sidecar stays free of Foundation.
#include <yaml.h>
