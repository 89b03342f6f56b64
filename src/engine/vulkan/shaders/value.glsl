// The storage type of the graph's values (binding 0 and the value inputs): fp32, or fp16 when
// the shader is compiled with -DVALUE_FP16 (16-bit storage; every read is widened and the
// arithmetic is fp32, every write converted to fp16 by the device). Weights and tables stay fp32.
// Included first: an #extension must precede the shader's declarations.
#ifdef VALUE_FP16
#extension GL_EXT_shader_16bit_storage : require
#define VALUE float16_t
#else
#define VALUE float
#endif
