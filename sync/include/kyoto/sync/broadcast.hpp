// kyoto::sync::broadcast (being written).
#pragma once
