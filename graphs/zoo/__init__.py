"""The model zoo: importing this package registers every zoo builder."""

from graphs.zoo import (  # noqa: F401
    efficientnet,
    mnasnet,
    mobilenet_edgetpu,
    mobilenet_v1,
    mobilenet_v2,
    mobilenet_v3,
    proxylessnas,
    resnet,
    ssdlite,
    vgg,
)
